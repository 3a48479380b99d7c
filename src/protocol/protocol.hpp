#pragma once
// Protocols: how a network is run as a reservoir (DESIGN §3, "One simulator"). A protocol is a
// layer over the engine's trial API (include/glia/trial.hpp) and simulation: it sets the input
// of each trial and its starting state, runs it and reads what it recorded; it never
// integrates a neuron or delivers a spike itself. It depends on the engine and on the
// numerical reservoir toolkit (datasets, encodings, readouts, metrics), not on I/O or the CLI:
// results go to a protocol_output, progress to a protocol_observer, both implemented by the
// caller (src/app writes HDF5 through src/io and feeds the live monitor).
//
//   two_phase   NALSM's protocol (science-spec §1.6), for any network: phase A presents training
//               samples with persistent plasticity, phase B runs every sample from W_INI and
//               takes spike counts as features; readouts classify them (two_phase.hpp).
//   timeseries  a scalar series into any network, memory capacity or NARMA (timeseries.hpp).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <glia/context.hpp>
#include <glia/model_registry.hpp>
#include <glia/spec.hpp>
#include <glia/trial.hpp>
#include <glia/types.hpp>

namespace glia::protocol {

// Where a protocol's results go. The two_phase protocol writes, in this order: the network's
// description, phase A's W_INI and per-presentation figures, then each part's features block by
// block, the rasters of the branching-factor samples, and metrics. A run resumed after an
// interruption first asks what is already there (completed_w_ini, resume_part).
class protocol_output {
public:
    virtual ~protocol_output() = default;

    // The populations (name, model, first global id, size), for readers of the output, and
    // the network's size and construction time.
    virtual void network(std::span<const std::string> names, std::span<const std::string> models,
                         std::span<const neuron_id> first, std::span<const std::uint64_t> sizes,
                         std::uint64_t n_synapses, double build_seconds) = 0;

    // W_INI: the weights of each plastic projection after phase A.
    using projection_weights = projection_synapses;
    virtual void write_w_ini(const std::vector<projection_weights>& w,
                             std::span<const float> final_level, std::span<const float> state_rate,
                             std::size_t presentations_planned) = 0;
    // The W_INI of a completed phase A in the output (weights per projection, by name); empty
    // when phase A did not finish.
    virtual std::vector<projection_weights> completed_w_ini() = 0;

    // A part of the dataset (train, validation, test): begin it (or, resuming, find how many of
    // its samples are there: they are kept, anything after them cut off), append rows, read the
    // features written so far.
    virtual void begin_part(const std::string& name, std::size_t planned, std::size_t width,
                            const std::string& feature_layout) = 0;
    virtual std::size_t resume_part(const std::string& name, std::size_t planned,
                                    std::size_t width, const std::string& feature_layout) = 0;
    virtual std::vector<float> part_features() = 0;
    virtual void append(std::span<const float> features, std::span<const std::uint8_t> labels,
                        std::span<const std::size_t> index,
                        std::span<const std::uint32_t> state_spikes,
                        std::span<const std::uint32_t> input_spikes,
                        std::span<const float> final_level) = 0;

    // Spikes of the state populations of the branching-factor samples (sample, time step,
    // feature index) and the level of the first level modulator per step (samples x steps x
    // regions; empty without one).
    virtual void write_rasters(std::span<const std::uint32_t> sample,
                               std::span<const std::uint32_t> step,
                               std::span<const std::uint32_t> neuron,
                               std::span<const float> level, std::size_t samples,
                               std::size_t steps, std::size_t regions) = 0;

    // Series of a task (timeseries: the input u, the target, predictions, states).
    virtual void array(const std::string& group, const std::string& name,
                       std::span<const double> values, std::span<const std::size_t> dims) = 0;

    // /metrics: a number, a text, an array of numbers or of counts.
    virtual void metric(const std::string& name, double value) = 0;
    virtual void metric_text(const std::string& name, const std::string& value) = 0;
    virtual void metric_array(const std::string& name, std::span<const double> values,
                              std::span<const std::size_t> dims) = 0;
    virtual void metric_counts(const std::string& name, std::span<const std::size_t> values,
                               std::span<const std::size_t> dims) = 0;
};

// What a protocol tells about its progress (terminal lines, the live monitor). Every call comes
// from the thread that called run, between blocks of work; every method has a do-nothing default.
class protocol_observer {
public:
    virtual ~protocol_observer() = default;

    struct plan {
        std::size_t state_neurons = 0;
        std::size_t synapses = 0;
        double dt = 1;                   // [ms]
        std::size_t presentations = 0;   // phase A
        std::size_t steps_a = 0;
        std::size_t samples = 0;         // phase B, all parts
        std::size_t steps_b = 0;
        double build_seconds = 0;
    };
    virtual void planned(const plan&) {}
    // "A" (presentations), "B" (samples), "series" (the timeseries protocol's one run, total 1),
    // "branching", "readout" (total: the phase's work).
    virtual void phase(const std::string& /*name*/, std::size_t /*total*/) {}
    // Within a phase's one long run ("series"): `step` of its steps done, `spikes` so far.
    virtual void steps(step_t /*step*/, std::uint64_t /*spikes*/) {}
    // `n` more of this phase's samples were done by an earlier, interrupted run.
    virtual void resumed(std::size_t /*n*/) {}
    // Samples of `part` done (phase A: part "A"): each one's state spikes and its final level
    // (the first level modulator, NaN without one); `done`: the phase's samples so far.
    virtual void samples(const std::string& /*part*/, std::span<const std::uint32_t> /*spikes*/,
                         std::span<const float> /*final_level*/, std::size_t /*done*/) {}
    virtual void branching_factor(double) {}
    virtual void readout(const std::string& /*name*/, std::size_t /*max_epochs*/) {}
    // After a softmax epoch; false stops the training there.
    virtual bool epoch(std::size_t /*epoch*/, double /*validation*/, double /*train*/) {
        return true;
    }
    // A readout's accuracies and its other figures (ridge: lambda; softmax: best_epoch,
    // epochs_run).
    virtual void readout_result(const std::string& /*name*/, double /*train*/,
                                double /*validation*/, double /*test*/,
                                const std::vector<std::pair<std::string, double>>& /*more*/) {}
    virtual void accuracy(double /*test*/, const std::string& /*readout*/) {}
};

enum class outcome { completed, interrupted };

}  // namespace glia::protocol
