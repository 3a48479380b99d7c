#pragma once
// The two-phase protocol of NALSM (Ivanov & Michmizos 2021, science-spec §1.6) on any network
// with a dataset_source input (docs/nalsm.md, docs/config_reference.md "protocol"):
//
//   phase A   protocol.phase_a.samples presentations of training images in a random order
//             (seeded), each phase_a.duration long, one after another on one copy of the
//             network: weights and the rules' traces carry over, neurons, modulators, queues and
//             each rule's per-sample state (kernel, learning-rate schedule) start as built. The
//             plastic weights at the end are W_INI.
//   phase B   every image of every part (train, validation, test) runs phase_b.duration from
//             W_INI (traces as built) on the network of phase B (phase_b.set applied: NALSM's
//             per-step decays), in parallel over samples; the features are the spike counts of
//             the state populations (and counts in time bins, and a final state variable).
//   then      the branching factor of the first test samples' state rasters, and the readouts
//             (NALSM's softmax regression, a ridge classifier).
//
// A trial's input events are keyed by (phase, image), never by the worker: features are
// bit-identical for any thread count. An interrupted run resumes: a completed phase A's W_INI
// and each part's finished blocks are read back from the output.

#include <atomic>
#include <memory>
#include <string>

#include <spdlog/spdlog.h>

#include "protocol/protocol.hpp"

namespace glia::protocol {

struct two_phase_options {
    int threads = 0;      // 0: simulation.threads, else all cores
    bool resume = false;  // continue the output of an interrupted run
    std::shared_ptr<spdlog::logger> log;
};

struct two_phase_summary {
    outcome status = outcome::completed;
    double accuracy_test = std::nan("");  // of the reported readout (softmax if run, else ridge)
    std::string reported_by;
    double branching_factor = std::nan("");
    double state_rate_hz = 0;             // phase B, state populations
    double samples_per_second = 0;        // phase B, this process
    double phase_a_seconds = 0, phase_b_seconds = 0, readout_seconds = 0;
    std::string stopped_in;               // the phase an interruption stopped
};

two_phase_summary run_two_phase(const experiment_spec& spec, const model_registry& models,
                                const two_phase_options& options, protocol_output& out,
                                protocol_observer& observer, const std::atomic<bool>& stop);

}  // namespace glia::protocol
