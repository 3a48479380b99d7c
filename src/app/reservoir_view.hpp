#pragma once
// The live monitor's view of a NALSM reservoir run (used by cmd_reservoir.cpp only).

#include <chrono>
#include <cmath>
#include <limits>
#include <string>

#include <fmt/format.h>

#include <glia/recording.hpp>

#include "app/app_util.hpp"
#include "reservoir/nalsm.hpp"
#include "reservoir/nalsm_protocol.hpp"
#include "reservoir/readout.hpp"
#include "runtime/monitor.hpp"

namespace glia::app {

// What `glia run --monitor` shows of a reservoir run (docs/monitor.md, "Reservoir runs"). The
// status's steps are the liquid's 1 ms steps over phase A's presentations and phase B's
// samples (the branching factor's and the readouts' work is not in them: `eta_s` is null
// then); "reservoir" holds the phase, its samples, the liquid rate, the branching factor and
// the readouts' accuracies; "astrocytes" the astrocyte A (mean over regions) at the end of the
// latest presentation or sample. Every call comes from the thread that drives the run, between
// blocks, and never waits for the server (runtime/monitor.hpp); without a monitor, every call
// returns at once.
class reservoir_view {
public:
    using clock_type = std::chrono::steady_clock;

    explicit reservoir_view(runtime::monitor* m): m_(m) {}

    bool on() const { return m_ != nullptr; }

    // The run planned: phase A `presentations` x `steps_a`, phase B `samples` x `steps_b`
    // [1 ms steps]. Status "running" from here on.
    void begin(const reservoir::nalsm::liquid& net, std::size_t presentations, std::size_t steps_a,
               std::size_t samples, std::size_t steps_b, double build_seconds) {
        if (!on()) {
            return;
        }
        n_liquid_ = net.n_liquid();
        n_synapses_ = net.n_synapses();
        steps_a_ = steps_a;
        steps_b_ = steps_b;
        n_steps_ = static_cast<step_t>(presentations * steps_a + samples * steps_b);
        build_seconds_ = build_seconds;
        run_layout layout;
        layout.dt = 1.0;  // NALSM's step [ms]
        layout.n_steps = n_steps_;
        // The liquid's spikes are not streamed: its rate is in "reservoir".
        layout.populations.push_back({"liquid", "nalsm_lif", 0, n_liquid_, false, true});
        t0_ = clock_type::now();
        m_->begin(layout);
        send();
    }

    // A phase starts: "A" and "B" with `total` samples (presentations in phase A), then
    // "branching" (`total` samples of its own) and "readout" (samples: those of phase B).
    void phase(std::string name, std::size_t total) {
        if (!on()) {
            return;
        }
        phase_ = std::move(name);
        part_.clear();
        total_ = total;
        if (simulating()) {
            done_ = 0;
            resumed_ = 0;
            rate_spikes_ = 0;
            rate_samples_ = 0;
            phase_t0_ = clock_type::now();
        } else {
            done_ = phase_ == "readout" ? total : 0;
        }
        send();
    }

    // `n` more samples of this phase were done before this process (a resumed run).
    void resumed(std::size_t n) {
        if (!on()) {
            return;
        }
        const std::size_t steps = phase_ == "A" ? steps_a_ : steps_b_;
        done_ += n;
        resumed_ += n;
        step_ += static_cast<step_t>(n * steps);
        first_step_ += static_cast<step_t>(n * steps);
        send();
    }

    // Phase A after `so_far.samples_done` presentations.
    void presentations(const reservoir::nalsm::init_result& so_far) {
        if (!on()) {
            return;
        }
        for (std::size_t q = done_; q < so_far.samples_done && q < so_far.liquid_rate.size(); ++q) {
            const auto n = static_cast<std::uint64_t>(std::llround(
                static_cast<double>(so_far.liquid_rate[q]) * static_cast<double>(n_liquid_) *
                static_cast<double>(steps_a_)));
            spikes_ += n;
            rate_spikes_ += n;
            ++rate_samples_;
        }
        step_ += static_cast<step_t>((so_far.samples_done - done_) * steps_a_);
        done_ = so_far.samples_done;
        if (!so_far.final_a.empty()) {
            a_ = so_far.final_a.back();
        }
        send();
    }

    // Phase B after a block of `part`: `block` as compute_features returned it; `done` samples
    // of all parts so far.
    void block(const std::string& part, const reservoir::nalsm::feature_block& block, std::size_t done) {
        if (!on()) {
            return;
        }
        part_ = part;
        for (auto n: block.liquid_spikes) {
            spikes_ += n;
            rate_spikes_ += n;
            ++rate_samples_;
        }
        step_ += static_cast<step_t>((done - done_) * steps_b_);
        done_ = done;
        if (!block.final_a.empty()) {
            a_ = block.final_a.back();
        }
        send();
    }

    void branching_factor(double bf) {
        bf_ = bf;
        send();
    }

    // A readout starts ("ridge", "softmax").
    void readout(std::string name, std::size_t max_epochs = 0) {
        readout_ = std::move(name);
        epoch_ = 0;
        max_epochs_ = max_epochs;
        epoch_train_ = epoch_validation_ = best_validation_ = nan;
        best_epoch_ = 0;
        send();
    }

    // After a softmax epoch (1-based).
    void epoch(std::size_t epoch, double validation, double train) {
        epoch_ = epoch;
        epoch_validation_ = validation;
        epoch_train_ = train;
        if (best_epoch_ == 0 || validation > best_validation_) {
            best_validation_ = validation;
            best_epoch_ = epoch;
        }
        send();
    }

    // A readout's result: {"accuracy_train": …, …} as JSON.
    void result(const std::string& name, std::string json) {
        results_ += fmt::format(",\"{}\":{}", name, json);
        readout_.clear();
        send();
    }

    void accuracy_test(double accuracy, const std::string& readout) {
        accuracy_test_ = accuracy;
        accuracy_test_readout_ = readout;
        send();
    }

    // The end: status "complete" or "interrupted" (the monitor's last message).
    void end(bool completed) {
        if (!on()) {
            return;
        }
        send();
        run_summary s;
        s.status = completed ? run_status::completed : run_status::interrupted;
        s.steps_done = step_;
        s.first_step = first_step_;
        s.wall_seconds = seconds_since(t0_);
        s.build_seconds = build_seconds_;
        s.spike_counts = {spikes_};
        s.n_neurons = n_liquid_;
        s.n_synapses = n_synapses_;
        m_->end(s);
    }

    static std::string number(double x) {
        return std::isfinite(x) ? fmt::format("{:.17g}", x) : std::string("null");
    }

private:
    static constexpr double nan = std::numeric_limits<double>::quiet_NaN();

    bool simulating() const { return phase_ == "A" || phase_ == "B"; }

    void send() {
        if (!on()) {
            return;
        }
        // After phase B, its figures stay.
        if (simulating()) {
            const double phase_s = seconds_since(phase_t0_);
            per_s_ = phase_s > 0 ? static_cast<double>(done_ - resumed_) / phase_s : 0.0;
            const std::size_t steps = phase_ == "A" ? steps_a_ : steps_b_;
            rate_hz_ = rate_samples_ > 0 ? static_cast<double>(rate_spikes_) /
                                               (static_cast<double>(rate_samples_) *
                                                static_cast<double>(n_liquid_) *
                                                static_cast<double>(steps) * 1e-3)
                                         : nan;
        }
        std::string r = fmt::format(
            "{{\"phase\":\"{}\",\"part\":{},\"samples_done\":{},\"samples_total\":{},"
            "\"samples_per_s\":{},\"liquid_rate_hz\":{},\"branching_factor\":{}",
            phase_, part_.empty() ? std::string("null") : "\"" + part_ + "\"", done_, total_,
            number(per_s_), number(rate_hz_), number(bf_));
        if (!readout_.empty()) {
            r += fmt::format(",\"readout\":\"{}\"", readout_);
        }
        if (readout_ == "softmax") {
            r += fmt::format(",\"epoch\":{},\"max_epochs\":{},\"train_accuracy\":{},"
                             "\"validation_accuracy\":{},\"best_epoch\":{},"
                             "\"best_validation_accuracy\":{}",
                             epoch_, max_epochs_, number(epoch_train_),
                             number(epoch_validation_), best_epoch_, number(best_validation_));
        }
        r += results_;
        if (!accuracy_test_readout_.empty()) {
            r += fmt::format(",\"accuracy_test\":{},\"accuracy_test_readout\":\"{}\"",
                             number(accuracy_test_), accuracy_test_readout_);
        }
        r += "}";
        progress_info p;
        p.step = step_;
        p.n_steps = n_steps_;
        p.first_step = first_step_;
        p.wall_seconds = seconds_since(t0_);
        p.spikes = spikes_;
        const double steps_per_s =
            p.wall_seconds > 0 ? static_cast<double>(step_ - first_step_) / p.wall_seconds : 0.0;
        p.eta_seconds = simulating() && steps_per_s > 0
                            ? static_cast<double>(n_steps_ - step_) / steps_per_s
                            : nan;
        // The progress first: if the server takes the hand-over mutex between these calls, the
        // status shows a step at least as far as the samples in "reservoir" (each call hands
        // over what is staged, monitor.hpp).
        m_->progress(p);
        m_->publish_section("reservoir", std::move(r));
        if (std::isfinite(a_)) {  // else {}: nothing known yet
            m_->publish_section("astrocytes", fmt::format("{{\"A\":{}}}", number(a_)));
        }
    }

    runtime::monitor* m_;
    clock_type::time_point t0_ = clock_type::now();
    clock_type::time_point phase_t0_ = clock_type::now();
    std::size_t n_liquid_ = 0;
    std::size_t n_synapses_ = 0;
    std::size_t steps_a_ = 0;  // [1 ms steps] per presentation
    std::size_t steps_b_ = 0;  // [1 ms steps] per sample
    step_t n_steps_ = 0;
    step_t step_ = 0;
    step_t first_step_ = 0;  // of step_, done before this process (resumed)
    double build_seconds_ = 0;  // [s]
    std::uint64_t spikes_ = 0;  // liquid spikes this process simulated
    std::string phase_ = "starting";
    std::string part_;
    std::size_t total_ = 0;
    std::size_t done_ = 0;
    std::size_t resumed_ = 0;
    std::uint64_t rate_spikes_ = 0;  // liquid spikes of the phase's samples simulated here
    std::size_t rate_samples_ = 0;
    double per_s_ = nan;    // samples (presentations) per second of the phase, this process
    double rate_hz_ = nan;  // [Hz] mean liquid rate of the phase's samples simulated here
    double a_ = nan;
    double bf_ = nan;
    std::string readout_;
    std::size_t epoch_ = 0;
    std::size_t max_epochs_ = 0;
    double epoch_train_ = nan;
    double epoch_validation_ = nan;
    double best_validation_ = nan;
    std::size_t best_epoch_ = 0;
    std::string results_;  // ,"ridge":{…},"softmax":{…}
    double accuracy_test_ = nan;
    std::string accuracy_test_readout_;
};

}  // namespace glia::app
