#pragma once
// What a protocol run shows while it goes on (cmd_protocol.cpp): a progress line with ETA on
// a terminal (log lines every 10 % or 60 s otherwise), and with --monitor the live view
// (docs/monitor.md, "Protocol runs"). The monitor's status counts simulated steps over phase
// A's presentations and phase B's samples (the branching factor's and the readouts' work is
// not in them: `eta_s` is null then); its "reservoir" section holds the phase, its samples,
// the state populations' rate, the branching factor and the readouts' accuracies; "astrocytes"
// the level of the first level modulator at the end of the latest sample. Every call comes from
// the thread that drives the run and never waits for the server (runtime/monitor.hpp).

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

#include <fmt/format.h>
#include <spdlog/logger.h>

#include <glia/recording.hpp>

#include "app/app_util.hpp"
#include "protocol/protocol.hpp"
#include "runtime/monitor.hpp"

namespace glia::app {

class protocol_view final: public protocol::protocol_observer {
public:
    using clock_type = std::chrono::steady_clock;

    protocol_view(runtime::monitor* m, spdlog::logger& log, bool progress) :
        m_(m), log_(log), progress_(progress), tty_(isatty(STDERR_FILENO) != 0) {}

    void planned(const plan& p) override {
        plan_ = p;
        n_steps_ = static_cast<step_t>(p.presentations * p.steps_a + p.samples * p.steps_b);
        if (m_ == nullptr) {
            return;
        }
        run_layout layout;
        layout.dt = p.dt;
        layout.n_steps = n_steps_;
        // The state populations' spikes are not streamed: their rate is in "reservoir".
        layout.populations.push_back({"state", "", 0, p.state_neurons, false, true});
        t0_ = clock_type::now();
        m_->begin(layout);
        send();
    }

    void phase(const std::string& name, std::size_t total) override {
        finish_line();
        phase_ = name;
        part_.clear();
        total_ = total;
        phase_t0_ = clock_type::now();
        last_decile_ = -1;
        last_log_ = 0;
        if (simulating()) {
            done_ = 0;
            resumed_ = 0;
            rate_spikes_ = 0;
            rate_samples_ = 0;
        } else {
            done_ = phase_ == "readout" ? total : 0;
        }
        send();
    }

    void resumed(std::size_t n) override {
        const std::size_t steps = phase_ == "A" ? plan_.steps_a : plan_.steps_b;
        done_ += n;
        resumed_ += n;
        step_ += static_cast<step_t>(n * steps);
        first_step_ += static_cast<step_t>(n * steps);
        send();
    }

    void samples(const std::string& part, std::span<const std::uint32_t> spikes,
                 std::span<const float> final_level, std::size_t done) override {
        part_ = part == "A" ? std::string() : part;
        for (auto n: spikes) {
            spikes_ += n;
            rate_spikes_ += n;
            ++rate_samples_;
        }
        if (phase_ == "series") {
            step_ = n_steps_;  // its steps came through steps()
        } else {
            const std::size_t steps = phase_ == "A" ? plan_.steps_a : plan_.steps_b;
            step_ += static_cast<step_t>((done - done_) * steps);
        }
        done_ = done;
        if (!final_level.empty()) {
            level_ = final_level.back();
        }
        line();
        send();
    }

    void steps(step_t step, std::uint64_t spikes) override {
        step_ = std::min(step, n_steps_);
        spikes_ = spikes;
        line();
        send();
    }

    void branching_factor(double bf) override {
        bf_ = bf;
        send();
    }

    void readout(const std::string& name, std::size_t max_epochs) override {
        finish_line();
        readout_ = name;
        epoch_ = 0;
        max_epochs_ = max_epochs;
        epoch_train_ = epoch_validation_ = best_validation_ = nan;
        best_epoch_ = 0;
        if (max_epochs > 0) {
            phase_t0_ = clock_type::now();
            last_decile_ = -1;
            last_log_ = 0;
        }
        send();
    }

    bool epoch(std::size_t epoch, double validation, double train) override {
        epoch_ = epoch;
        epoch_validation_ = validation;
        epoch_train_ = train;
        if (best_epoch_ == 0 || validation > best_validation_) {
            best_validation_ = validation;
            best_epoch_ = epoch;
        }
        line();
        send();
        return true;
    }

    void readout_result(const std::string& name, double train, double validation, double test,
                        const std::vector<std::pair<std::string, double>>& more) override {
        finish_line();
        std::string extra;
        for (const auto& [key, value]: more) {
            extra += fmt::format(",\"{}\":{}", key, number(value));
        }
        results_ += fmt::format(",\"{}\":{{\"accuracy_train\":{},\"accuracy_validation\":{},"
                                "\"accuracy_test\":{}{}}}",
                                name, number(train), number(validation), number(test), extra);
        readout_.clear();
        send();
    }

    void accuracy(double test, const std::string& readout) override {
        accuracy_test_ = test;
        accuracy_test_readout_ = readout;
        send();
    }

    // The end: status "complete" or "interrupted" (the monitor's last message).
    void end(bool completed) {
        finish_line();
        if (m_ == nullptr) {
            return;
        }
        send();
        run_summary s;
        s.status = completed ? run_status::completed : run_status::interrupted;
        s.steps_done = step_;
        s.first_step = first_step_;
        s.wall_seconds = seconds_since(t0_);
        s.build_seconds = plan_.build_seconds;
        s.spike_counts = {spikes_};
        s.n_neurons = plan_.state_neurons;
        s.n_synapses = plan_.synapses;
        m_->end(s);
    }

    // Ends a progress line rewritten in place on a terminal.
    void finish_line() {
        if (open_line_) {
            std::fprintf(stderr, "\n");
            open_line_ = false;
        }
    }

    static std::string number(double x) {
        return std::isfinite(x) ? fmt::format("{:.17g}", x) : std::string("null");
    }

private:
    static constexpr double nan = std::numeric_limits<double>::quiet_NaN();

    bool simulating() const { return phase_ == "A" || phase_ == "B" || phase_ == "series"; }

    // The progress line of a simulated phase or of the softmax readout's epochs.
    void line() {
        if (!progress_) {
            return;
        }
        const bool epochs = !readout_.empty() && max_epochs_ > 0;
        const bool series = phase_ == "series";
        const std::size_t done = epochs   ? epoch_
                                 : series ? static_cast<std::size_t>(step_)
                                          : done_;
        const std::size_t total = epochs   ? max_epochs_
                                  : series ? static_cast<std::size_t>(n_steps_)
                                           : total_;
        if (total == 0) {
            return;
        }
        const double elapsed = seconds_since(phase_t0_);
        const std::size_t base = epochs ? 0 : resumed_;
        const double rate =
            elapsed > 0 && done >= base ? static_cast<double>(done - base) / elapsed : 0;
        const double eta = rate > 0 ? static_cast<double>(total - done) / rate : nan;
        const std::string what = epochs          ? "softmax readout (epochs)"
                                 : series        ? "series (steps)"
                                 : phase_ == "A" ? "phase A (presentations)"
                                                 : "phase B (samples)";
        const std::string text =
            fmt::format("{}: [{:5.1f}%] {} / {}, {:.0f}/s, elapsed {}, ETA {}", what,
                        100.0 * static_cast<double>(done) / static_cast<double>(total), done,
                        total, rate, format_duration(elapsed), format_duration(eta));
        if (tty_) {
            std::fprintf(stderr, "\r%s\033[K", text.c_str());
            std::fflush(stderr);
            open_line_ = true;
            return;
        }
        const int decile = static_cast<int>(10.0 * static_cast<double>(done) /
                                            static_cast<double>(total));
        if (decile > last_decile_ || elapsed - last_log_ >= 60 || done == total) {
            last_decile_ = decile;
            last_log_ = elapsed;
            log_.info("{}", text);
        }
    }

    void send() {
        if (m_ == nullptr) {
            return;
        }
        if (simulating()) {  // after phase B, its figures stay
            const double phase_s = seconds_since(phase_t0_);
            per_s_ = phase_s > 0 ? static_cast<double>(done_ - resumed_) / phase_s : 0.0;
            const std::size_t steps = phase_ == "A" ? plan_.steps_a : plan_.steps_b;
            rate_hz_ = rate_samples_ > 0 ? static_cast<double>(rate_spikes_) /
                                               (static_cast<double>(rate_samples_) *
                                                static_cast<double>(plan_.state_neurons) *
                                                static_cast<double>(steps) * plan_.dt * 1e-3)
                                         : nan;
        }
        std::string r = fmt::format(
            "{{\"phase\":\"{}\",\"part\":{},\"samples_done\":{},\"samples_total\":{},"
            "\"samples_per_s\":{},\"state_rate_hz\":{},\"branching_factor\":{}",
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
        // status shows a step at least as far as the samples in "reservoir" (monitor.hpp).
        m_->progress(p);
        m_->publish_section("reservoir", std::move(r));
        if (std::isfinite(level_)) {  // else {}: nothing known yet
            m_->publish_section("astrocytes", fmt::format("{{\"A\":{}}}", number(level_)));
        }
    }

    runtime::monitor* m_;
    spdlog::logger& log_;
    bool progress_;
    bool tty_;
    bool open_line_ = false;
    int last_decile_ = -1;
    double last_log_ = 0;
    plan plan_;
    clock_type::time_point t0_ = clock_type::now();
    clock_type::time_point phase_t0_ = clock_type::now();
    step_t n_steps_ = 0;
    step_t step_ = 0;
    step_t first_step_ = 0;  // of step_, done before this process (resumed)
    std::uint64_t spikes_ = 0;
    std::string phase_ = "starting";
    std::string part_;
    std::size_t total_ = 0;
    std::size_t done_ = 0;
    std::size_t resumed_ = 0;
    std::uint64_t rate_spikes_ = 0;
    std::size_t rate_samples_ = 0;
    double per_s_ = nan;
    double rate_hz_ = nan;
    double level_ = nan;
    double bf_ = nan;
    std::string readout_;
    std::size_t epoch_ = 0;
    std::size_t max_epochs_ = 0;
    double epoch_train_ = nan;
    double epoch_validation_ = nan;
    double best_validation_ = nan;
    std::size_t best_epoch_ = 0;
    std::string results_;
    double accuracy_test_ = nan;
    std::string accuracy_test_readout_;
};

}  // namespace glia::app
