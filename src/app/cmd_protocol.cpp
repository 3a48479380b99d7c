#include "app/cmd_protocol.hpp"

#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <optional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <tbb/global_control.h>
#include <tbb/info.h>

#include <glia/error.hpp>
#include <glia/text.hpp>
#include <glia/simulation.hpp>
#include <glia/version_info.hpp>

#include "app/app_util.hpp"
#include "app/protocol_view.hpp"
#include "io/hdf5_writer.hpp"
#include "io/reservoir_output.hpp"
#include "protocol/timeseries.hpp"
#include "protocol/two_phase.hpp"
#include "runtime/monitor.hpp"
#include "runtime/signals.hpp"

namespace glia::app {

namespace {

using clock_type = std::chrono::steady_clock;

constexpr int exit_ok = 0;
constexpr int exit_interrupted = 3;

// The protocols' output: the HDF5 file of a protocol run (io/reservoir_output.hpp), created
// (or reopened, resuming) when the protocol first writes, after the network is built and the
// dataset read: a file with a bad dataset or network gets no output.
class file_output final: public protocol::protocol_output {
public:
    explicit file_output(std::function<std::unique_ptr<io::reservoir_file>()> open) :
        open_(std::move(open)) {}
    bool opened() const { return file_ != nullptr; }

    void network(std::span<const std::string> names, std::span<const std::string> models,
                 std::span<const neuron_id> first, std::span<const std::uint64_t> sizes,
                 std::uint64_t n_synapses, double build_seconds) override {
        f().write_network(names, models, first, sizes);
        n_synapses_ = n_synapses;
        build_seconds_ = build_seconds;
    }
    // /run's summary and status, and the file closed (nothing when it was never opened:
    // stopped before anything was written).
    void close(const std::string& status, double wall_seconds) {
        if (!file_) {
            return;
        }
        if (status != "complete") {
            file_->metric("wall_seconds", wall_seconds);
        }
        file_->set_summary(n_synapses_, build_seconds_, wall_seconds);
        file_->close(status);
    }
    void write_w_ini(const std::vector<projection_weights>& w, std::span<const float> level,
                     std::span<const float> rate, std::size_t planned) override {
        f().write_init(w, level, rate, planned);
    }
    std::vector<projection_weights> completed_w_ini() override { return f().completed_w_ini(); }
    void begin_part(const std::string& name, std::size_t planned, std::size_t width,
                    const std::string& layout) override {
        f().begin_part(name, planned, width, layout);
    }
    std::size_t resume_part(const std::string& name, std::size_t planned, std::size_t width,
                            const std::string& layout) override {
        return f().resume_part(name, planned, width, layout);
    }
    std::vector<float> part_features() override { return f().part_features(); }
    void append(std::span<const float> features, std::span<const std::uint8_t> labels,
                std::span<const std::size_t> index, std::span<const std::uint32_t> state_spikes,
                std::span<const std::uint32_t> input_spikes,
                std::span<const float> final_level) override {
        f().append(features, labels, index, state_spikes, input_spikes, final_level);
    }
    void write_rasters(std::span<const std::uint32_t> sample, std::span<const std::uint32_t> step,
                       std::span<const std::uint32_t> neuron, std::span<const float> level,
                       std::size_t samples, std::size_t steps, std::size_t regions) override {
        f().write_rasters(sample, step, neuron, level, samples, steps, regions);
    }
    void array(const std::string& group, const std::string& name, std::span<const double> values,
               std::span<const std::size_t> dims) override {
        f().array(group, name, values, dims);
    }
    void metric(const std::string& name, double value) override { f().metric(name, value); }
    void metric_text(const std::string& name, const std::string& value) override {
        f().metric_text(name, value);
    }
    void metric_array(const std::string& name, std::span<const double> values,
                      std::span<const std::size_t> dims) override {
        f().metric_array(name, values, dims);
    }
    void metric_counts(const std::string& name, std::span<const std::size_t> values,
                       std::span<const std::size_t> dims) override {
        f().metric_counts(name, values, dims);
    }

private:
    io::reservoir_file& f() {
        if (!file_) {
            file_ = open_();
        }
        return *file_;
    }
    std::function<std::unique_ptr<io::reservoir_file>()> open_;
    std::unique_ptr<io::reservoir_file> file_;
    std::uint64_t n_synapses_ = 0;
    double build_seconds_ = 0;
};

const char* kind_name(protocol_spec::kind k) {
    return k == protocol_spec::kind::two_phase ? "two_phase" : "timeseries";
}

}  // namespace

bool protocol_resumable(const experiment_spec& spec, const std::string& output) {
    if (spec.protocol.type != protocol_spec::kind::two_phase || !io::is_reservoir_file(output)) {
        return false;
    }
    try {
        const io::reservoir_summary s = io::read_reservoir_summary(output);
        return s.kind == kind_name(spec.protocol.type) && s.config == spec.config_text &&
               s.status != "complete";
    }
    catch (const error&) {
        return false;
    }
}

std::string describe_protocol(const experiment_spec& spec) {
    const protocol_spec& p = spec.protocol;
    std::size_t neurons = 0;
    for (const auto& pop: spec.populations) {
        neurons += pop.size;
    }
    if (p.type == protocol_spec::kind::two_phase) {
        std::string state;
        for (const auto& s: p.state) {
            state += (state.empty() ? "" : ", ") + s;
        }
        return fmt::format("two_phase protocol on {} populations, {} neurons, {} projections: "
                           "input {}, state [{}], phase A {} x {} ms, phase B {} ms per sample{}",
                           spec.populations.size(), neurons, spec.projections.size(), p.input,
                           state, p.phase_a_samples, p.phase_a_duration, p.phase_b_duration,
                           p.phase_b_network ? " (phase_b.set applied)" : "");
    }
    return fmt::format("timeseries protocol on {} populations, {} neurons: {}, {} steps of {} ms "
                       "into '{}'",
                       spec.populations.size(), neurons,
                       p.task == protocol_spec::task_kind::narma
                           ? fmt::format("NARMA-{}", p.narma_order)
                           : fmt::format("memory capacity up to delay {}", p.k_max),
                       p.series_steps, p.step_duration, p.input_population);
}

namespace {

// cmd_run_protocol; `output_ours`: set once the output file is created (or reopened to resume).
int run_protocol(const experiment_spec& spec, const model_registry& models,
                 const protocol_run_options& opt, const std::shared_ptr<spdlog::logger>& log,
                 bool& output_ours) {
    const auto t_start = clock_type::now();
    const protocol_spec& p = spec.protocol;
    if (opt.resume && p.type == protocol_spec::kind::timeseries) {
        throw error("--resume is for network and two_phase experiments (a timeseries experiment "
                    "is rerun whole)");
    }
    io::check_writable(opt.output);
    std::optional<runtime::monitor_options> monitor_options;  // checked before any work
    if (!opt.monitor.empty()) {
        monitor_options = runtime::parse_monitor_address(opt.monitor);
    }
    // Set by a signal (the watcher below) or by the monitor's POST /stop.
    std::atomic<bool> stop{false};
    std::unique_ptr<runtime::monitor> monitor;
    if (monitor_options) {
        monitor = start_monitor(*monitor_options, stop, *log);
    }
    const int threads = opt.threads > 0                 ? opt.threads
                        : spec.simulation.threads > 0 ? spec.simulation.threads
                                                      : tbb::info::default_concurrency();
    tbb::global_control threads_limit(tbb::global_control::max_allowed_parallelism,
                                      static_cast<std::size_t>(threads));
    log->info("glia {} ({}): {} -> {} ({} protocol, {} threads)", version_string, git_hash,
              spec.source_path, opt.output, kind_name(p.type), threads);

    io::reservoir_provenance prov = provenance_of(kind_name(p.type), spec.config_text,
                                                  spec.source_path, opt.command_line,
                                                  spec.simulation.seed);
    prov.dt = spec.simulation.dt;
    prov.duration = spec.simulation.duration;
    file_output out([&] {
        auto file =
            opt.resume
                ? std::make_unique<io::reservoir_file>(io::reservoir_file::resume_tag{}, opt.output,
                                                       kind_name(p.type), spec.config_text)
                : std::make_unique<io::reservoir_file>(opt.output, prov);
        output_ours = true;
        return file;
    });
    protocol_view view(monitor.get(), *log, opt.progress);
    std::optional<runtime::signal_watcher> signals;
    signals.emplace(stop);
    const auto stopped_by = [&] {
        return monitor && signals && signals->signal_number() == 0 ? "stopped from the monitor"
                                                                   : "interrupted";
    };

    if (p.type == protocol_spec::kind::timeseries) {
        protocol::timeseries_options to;
        to.threads = threads;
        to.log = log;
        const auto r = protocol::run_timeseries(spec, models, to, out, view, stop);
        const double wall = seconds_since(t_start);
        if (r.status == protocol::outcome::interrupted) {
            out.close("interrupted", wall);
            view.end(false);
            log->warn("{}: a time-series experiment needs the whole series; {} holds no result",
                      stopped_by(), opt.output);
            return exit_interrupted;
        }
        out.metric("wall_seconds", wall);
        out.close("complete", wall);
        view.end(true);
        fmt::print("{}: {}; {} state neurons at {:.2f} Hz, total {}\n", opt.output, r.line,
                   r.state_neurons, r.state_rate_hz, format_duration(wall));
        return exit_ok;
    }

    protocol::two_phase_options to;
    to.threads = threads;
    to.resume = opt.resume;
    to.log = log;
    const auto r = protocol::run_two_phase(spec, models, to, out, view, stop);
    const double wall = seconds_since(t_start);
    if (r.status == protocol::outcome::interrupted) {
        out.close("interrupted", wall);
        view.end(false);
        log->warn("{} during {}; {} holds everything finished so far ({} continues it)",
                  stopped_by(), r.stopped_in, opt.output, "glia run FILE --resume");
        return exit_interrupted;
    }
    out.metric("wall_seconds", wall);
    out.close("complete", wall);
    view.end(true);
    signals.reset();
    fmt::print("{}: test accuracy {:.2f} % ({} readout), branching factor {:.3f}; phase A {}, "
               "phase B {} ({:.1f} samples/s), readouts {}, total {}, peak memory {:.0f} MB\n",
               opt.output, 100 * r.accuracy_test, r.reported_by, r.branching_factor,
               format_duration(r.phase_a_seconds), format_duration(r.phase_b_seconds),
               r.samples_per_second, format_duration(r.readout_seconds), format_duration(wall),
               static_cast<double>(peak_rss_bytes()) / 1e6);
    return exit_ok;
}

}  // namespace

int cmd_run_protocol(const experiment_spec& spec, const model_registry& models,
                     const protocol_run_options& opt, const std::shared_ptr<spdlog::logger>& log) {
    bool output_ours = false;
    try {
        return run_protocol(spec, models, opt, log, output_ours);
    }
    catch (const std::exception& e) {
        // The file was closed 'failed' as the error left run_protocol; the message joins it.
        if (output_ours && !io::mark_run_failed(opt.output, e.what())) {
            log->warn("'{}' could not be given the error message: it holds what was written "
                      "before the error",
                      glia::printable(opt.output));
        }
        throw;
    }
}

}  // namespace glia::app
