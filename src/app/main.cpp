// The glia executable: command line, logging, exit codes. No simulation logic lives here.
//
//   glia run FILE [-o OUT.h5] [--set key.path=value]... [--threads N] [--partitions P]
//   glia validate FILE [--set key.path=value]...
//   glia inspect OUT.h5
//   glia run FILE --point K / glia sweep FILE --list|--local|--slurm|--collect: sweeps
//   (src/app/cmd_sweep.hpp, docs/sweeps.md)
//   glia --version
//
// Exit codes: 0 ok, 1 user error (config, file, parameter), 2 internal error (a bug),
// 3 run interrupted by a signal (the output is complete up to the step where it stopped; a
// network run also wrote the checkpoint <output>.ckpt, unless a second signal forced a fast
// exit: `glia run FILE --resume` continues it, docs/output_format.md "Checkpoints"; a sweep
// point, `glia run FILE --point K`, continues from its checkpoint by itself, docs/sweeps.md).

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <glia/error.hpp>
#include <glia/simulation.hpp>
#include <glia/text.hpp>
#include <glia/version_info.hpp>

#include "app/app_util.hpp"
#include "app/cmd_protocol.hpp"
#include "app/cmd_sweep.hpp"
#include "app/run_checkpoint.hpp"
#include "app/run_metrics.hpp"
#include "io/config_yaml.hpp"
#include "io/hdf5_writer.hpp"
#include "io/input_file.hpp"
#include "io/inspect.hpp"
#include "io/network_metrics.hpp"
#include "io/reservoir_output.hpp"
#include "models/register_models.hpp"
#include "runtime/async_sink.hpp"
#include "runtime/monitor.hpp"
#include "runtime/signals.hpp"
#include "runtime/tee_sink.hpp"

namespace {

using glia::app::format_duration;
using glia::app::host_name;
using glia::app::now_iso8601;

constexpr int exit_ok = 0;
constexpr int exit_user_error = 1;
constexpr int exit_internal_error = 2;
constexpr int exit_interrupted = 3;

// Progress on a terminal: one line rewritten in place. Otherwise (a log file, a cluster job):
// a log line at most every 10% or every 60 s.
class progress_printer {
public:
    progress_printer(spdlog::logger& log, double dt, bool enabled) :
        log_(log), dt_(dt), enabled_(enabled), tty_(isatty(STDERR_FILENO) != 0) {}

    void operator()(const glia::progress_info& p) {
        if (!enabled_ || p.n_steps == 0) {
            return;
        }
        const double frac = static_cast<double>(p.step) / static_cast<double>(p.n_steps);
        // The speed of this process: a resumed run counts the events before it too.
        const double events_per_s =
            p.wall_seconds > 0
                ? static_cast<double>(p.synaptic_events - p.synaptic_events_at_start) /
                      p.wall_seconds
                : 0.0;
        const std::string line = fmt::format(
            "[{:5.1f}%] t = {:.1f} / {:.1f} ms, elapsed {}, ETA {}, {:.3g} events/s, {} spikes",
            100.0 * frac, static_cast<double>(p.step) * dt_, static_cast<double>(p.n_steps) * dt_,
            format_duration(p.wall_seconds), format_duration(p.eta_seconds), events_per_s,
            p.spikes);
        if (tty_) {
            std::fprintf(stderr, "\r%s\033[K", line.c_str());
            if (p.step == p.n_steps) {
                std::fprintf(stderr, "\n");
            }
            std::fflush(stderr);
            return;
        }
        const int decile = static_cast<int>(frac * 10);
        if (decile > last_decile_ || p.wall_seconds - last_log_ >= 60 || p.step == p.n_steps) {
            last_decile_ = decile;
            last_log_ = p.wall_seconds;
            log_.info("{}", line);
        }
    }

    void finish_line() {
        if (enabled_ && tty_) {
            std::fprintf(stderr, "\n");
        }
    }

private:
    spdlog::logger& log_;
    double dt_;
    bool enabled_;
    bool tty_;
    int last_decile_ = -1;
    double last_log_ = 0;
};

glia::experiment_spec load(const std::string& file, const std::vector<std::string>& sets,
                           const glia::model_registry& models) {
    auto spec = glia::io::load_experiment(file, sets, models);
    glia::check_experiment(spec, models);
    return spec;
}

std::string json_escape(const std::string& s) {
    std::string out;
    for (const char c: s) {
        if (c == '"' || c == '\\') {
            out += '\\';
        }
        if (static_cast<unsigned char>(c) < 0x20) {
            out += fmt::format("\\u{:04x}", static_cast<int>(c));
            continue;
        }
        out += c;
    }
    return out;
}

// The events of this part of a run per second of its loop (a resumed run's counts include the
// events before it started; its wall time does not).
double events_per_second(const glia::run_summary& s) {
    return s.wall_seconds > 0
               ? static_cast<double>(s.synaptic_events - s.synaptic_events_at_start) /
                     s.wall_seconds
               : 0.0;
}

// The figures of a run as one JSON object (for tools/bench and sweep collection). Counts are
// the whole run's, times and events_per_second this part's (resumed_from_step > 0: the run was
// resumed from a checkpoint at that step; *_this_part: what this process simulated).
// branching_factor: metrics.branching_factor's value when it was computed (null when NaN).
void write_stats(const std::string& path, const glia::build_report& b, const glia::run_summary& s,
                 double dt, std::uint64_t spikes, const std::string& output,
                 const std::optional<double>& branching_factor) {
    std::ofstream f(path);
    if (!f) {
        throw glia::error(fmt::format("cannot write stats file '{}'", path));
    }
    const double sim_s = static_cast<double>(s.steps_done) * dt * 1e-3;
    f << fmt::format(
        "{{\"output\": \"{}\", \"status\": \"{}\", \"neurons\": {}, \"synapses\": {}, "
        "\"synapse_bytes\": {}, \"bytes_per_synapse\": {:.3f}, \"threads\": {}, "
        "\"partitions\": {}, \"build_seconds\": {:.6f}, \"wall_seconds\": {:.6f}, "
        "\"simulated_seconds\": {:.6f}, \"steps\": {}, \"spikes\": {}, \"mean_rate_hz\": "
        "{:.6f}, \"synaptic_events\": {}, \"events_per_second\": {:.6g}, "
        "\"resumed_from_step\": {}, \"steps_this_part\": {}, \"synaptic_events_this_part\": {}, "
        "\"peak_rss_bytes\": {}{}}}\n",
        json_escape(output), s.status == glia::run_status::completed ? "complete" : "interrupted", s.n_neurons,
        s.n_synapses, b.synapse_bytes,
        s.n_synapses > 0 ? static_cast<double>(b.synapse_bytes) / static_cast<double>(s.n_synapses)
                         : 0.0,
        b.threads, b.partitions, s.build_seconds, s.wall_seconds, sim_s, s.steps_done, spikes,
        sim_s > 0 && s.n_neurons > 0
            ? static_cast<double>(spikes) / static_cast<double>(s.n_neurons) / sim_s
            : 0.0,
        s.synaptic_events, events_per_second(s), s.first_step, s.steps_done - s.first_step,
        s.synaptic_events - s.synaptic_events_at_start, glia::peak_rss_bytes(),
        !branching_factor                 ? std::string()
        : std::isfinite(*branching_factor) ? fmt::format(", \"branching_factor\": {:.17g}",
                                                         *branching_factor)
                                           : std::string(", \"branching_factor\": null"));
}

// Everything `glia run` takes from the command line.
struct run_options {
    std::string file;
    std::vector<std::string> sets;  // --set key.path=value
    std::string output;             // -o
    int threads = 0;
    int partitions = 0;
    bool progress = true;
    std::string stats;    // --stats FILE.json
    std::string monitor;  // --monitor HOST:PORT; empty: no monitor, no threads, no sockets
    long point = -1;      // --point K: run point K of the file's sweep; -1: no sweep
    bool resume = false;  // --resume: continue from <output>.ckpt (src/app/run_checkpoint.hpp)
    std::string command_line;
};

int cmd_run(const run_options& opt, const std::shared_ptr<spdlog::logger>& log) {
    const std::string& file = opt.file;
    const std::vector<std::string>& sets = opt.sets;
    const std::string& output = opt.output;
    const int threads = opt.threads;
    const int partitions = opt.partitions;
    const bool progress = opt.progress;
    const std::string& command_line = opt.command_line;
    glia::model_registry models;
    glia::models::register_builtin_models(models);
    // --point K: the point's overrides come before the user's --set; its output, config.yaml
    // and stats.json go into <sweep dir>/point_K/ (docs/sweeps.md).
    std::optional<glia::app::point_run> point;
    if (opt.point >= 0) {
        if (!output.empty()) {
            throw glia::error("-o cannot be combined with --point: a sweep point's output goes "
                              "into <sweep dir>/point_K/ (see glia sweep FILE --list)");
        }
        point = glia::app::plan_point_run(file, opt.point, models);
    }
    const std::string stats = point && opt.stats.empty() ? point->stats : opt.stats;
    auto spec = point ? glia::app::load_point_run(*point, sets, models) : load(file, sets, models);
    if (point) {
        spec.output.path = point->output;  // load_point_run has run check_experiment
    }
    if (!output.empty()) {
        spec.output.path = output;
    }
    if (spec.output.path.empty()) {
        throw glia::error("no output file: set output.file in the experiment or pass -o");
    }
    // Paths the run needs are checked before anything is created, each error naming where
    // the path was given.
    const std::string output_where = !output.empty() ? "-o " + output
                                     : point ? fmt::format("--point {}", point->index)
                                             : spec.output.file_where;
    if (spec.protocol.type == glia::protocol_spec::kind::two_phase) {
        glia::app::check_dataset_files(spec.protocol.dataset);
    }
    glia::app::check_output_file(spec.output.path, output_where, "output.file");
    std::optional<glia::app::point_lock> lock;
    if (point) {
        glia::app::follow_sweep();
        lock.emplace(spec.output.path);
    }
    if (spec.protocol.type != glia::protocol_spec::kind::none) {
        // A protocol (two_phase, timeseries) runs over the engine's trials (src/protocol).
        if (partitions > 0 || (!stats.empty() && !point)) {
            throw glia::error("--partitions and --stats are for network experiments; a protocol "
                              "experiment runs trials on one partition each and writes its "
                              "figures to /metrics of its output");
        }
        if (point) {
            glia::app::write_point_config(*point, spec);
        }
        glia::app::protocol_run_options po;
        po.output = spec.output.path;
        po.threads = threads;
        po.progress = progress;
        po.monitor = opt.monitor;
        po.command_line = command_line;
        po.resume = opt.resume;
        if (point && !opt.resume && glia::app::protocol_resumable(spec, po.output)) {
            log->info("resuming point {} from its output {}", point->index, po.output);
            po.resume = true;
        }
        return glia::app::cmd_run_protocol(spec, models, po, log);
    }
    // --resume: the checkpoint is checked here. A sweep point continues from its checkpoint
    // when there is one that fits (an interrupted SLURM task, requeued or submitted again, or a
    // point stopped in `glia sweep --local`), else it runs from its start (docs/sweeps.md).
    using glia::app::resume_mode;
    glia::app::run_checkpoint checkpoint(spec,
                                         opt.resume ? resume_mode::required
                                         : point    ? resume_mode::if_resumable
                                                    : resume_mode::fresh,
                                         log);
    if (point && !opt.resume && checkpoint.resuming()) {
        log->info("resuming point {} from {} (step {}, t = {} ms)", point->index,
                  checkpoint.path(), checkpoint.resume_step(),
                  static_cast<double>(checkpoint.resume_step()) * spec.simulation.dt);
    } else if (point && !checkpoint.not_resumed().empty()) {
        log->warn("point {}: not resuming: {}; the point runs from its start (which removes the "
                  "checkpoint)",
                  point->index, glia::printable(checkpoint.not_resumed()));
    }
    if (point) {
        glia::app::write_point_config(*point, spec);
    }
    std::optional<glia::runtime::monitor_options> monitor_options;  // checked before the build
    if (!opt.monitor.empty()) {
        monitor_options = glia::runtime::parse_monitor_address(opt.monitor);
    }

    glia::app::run_metrics metrics(spec, log);  // metrics: block, lowered before the build

    glia::context ctx;
    ctx.log = log;
    ctx.threads = threads;
    ctx.partitions = partitions;
    log->info("glia {} ({}): {} -> {}", glia::version_string, glia::git_hash, file,
              spec.output.path);
    glia::simulation sim(spec, models, ctx);
    checkpoint.restore(sim);

    glia::io::provenance prov;
    prov.config_text = spec.config_text;
    prov.source_path = spec.source_path;
    prov.version = glia::version_string;
    prov.git_hash = glia::git_hash;
    prov.host = host_name();
    prov.command_line = command_line;
    prov.started = now_iso8601();
    prov.seed = spec.simulation.seed;
    prov.duration_ms = spec.simulation.duration;

    std::atomic<bool> stop{false};
    glia::runtime::signal_watcher signals(stop);
    // --monitor only: without it, no thread and no socket (docs/monitor.md). Declared before
    // the file's sinks, so destroyed after them: its last message reports the closed file.
    std::unique_ptr<glia::runtime::monitor> monitor;
    if (monitor_options) {
        monitor = glia::app::start_monitor(*monitor_options, stop, *log);
    }
    progress_printer printer(*log, spec.simulation.dt, progress);
    glia::run_control control;
    control.stop = &stop;
    control.progress_interval = 0.25;
    control.on_progress = [&](const glia::progress_info& p) {
        printer(p);
        if (monitor) {
            monitor->progress(p);
        }
    };
    metrics.start(sim.now(), control);

    // An error that ends the run once the output file is this run's marks it 'failed', with
    // the message ('interrupted' is for a stop by a signal or the monitor).
    glia::run_summary s;
    std::optional<glia::reservoir::branching_measurement> branching;
    bool output_ours = false;
    try {
        {
            glia::io::hdf5_sink file_sink(spec.output.path, prov, checkpoint.sink_options());
            // Reads the file sink once the writer thread (the async sink, declared after it)
            // has ended, on return and on an exception alike.
            struct owner_note {
                const glia::io::hdf5_sink& sink;
                bool& ours;
                ~owner_note() { ours = sink.owns_output(); }
            } const note{file_sink, output_ours};
            glia::runtime::async_sink sink(
                file_sink, std::chrono::duration<double>(spec.output.flush_interval));
            std::optional<glia::runtime::tee_sink> tee;  // the monitor first: it never blocks
            if (monitor) {
                tee.emplace(*monitor, sink);
            }
            glia::recording_sink& out = tee ? static_cast<glia::recording_sink&>(*tee) : sink;
            s = sim.run(out, control);
            checkpoint.finish(s, sim, [&] { return signals.force(); });
        }
        // The output is closed (end() of the sinks): /metrics is added to it.
        branching = metrics.finish(s, sim, spec.output.path);
        // Modulators with a level (nalsm_astrocyte): A(t) goes to /astrocytes/<name>/A.
        for (const auto& m: spec.modulators) {
            if (m.type == "nalsm_astrocyte") {
                const auto level = sim.modulator_level(m.name);
                glia::io::write_astrocyte_level(spec.output.path, m.name, level.values,
                                                level.n_regions, spec.simulation.dt);
            }
        }
    }
    catch (const std::exception& e) {
        if (output_ours && !glia::io::mark_run_failed(spec.output.path, e.what())) {
            log->warn("'{}' is incomplete: the error struck while it was written, so it holds "
                      "what was flushed before and its /run@status still says 'running'",
                      glia::printable(spec.output.path));
        }
        throw;
    }

    std::uint64_t spikes = 0;
    for (auto c: s.spike_counts) {
        spikes += c;
    }
    const double sim_s = static_cast<double>(s.steps_done) * spec.simulation.dt * 1e-3;
    const double rate = sim_s > 0 && s.n_neurons > 0
                            ? static_cast<double>(spikes) / static_cast<double>(s.n_neurons) / sim_s
                            : 0.0;
    const double events_per_s = events_per_second(s);
    if (s.status == glia::run_status::interrupted) {
        printer.finish_line();
        log->warn("{} at t = {} ms; the output holds everything up to there",
                  signals.signal_number() != 0
                      ? fmt::format("interrupted by signal {}", signals.signal_number())
                      : std::string("stopped from the monitor"),
                  static_cast<double>(s.steps_done) * spec.simulation.dt);
    }
    fmt::print("{}: {} neurons, {} synapses, {} ms simulated{} in {} (build {}), {} spikes "
               "(mean rate {:.2f} Hz), {:.3g} synaptic events/s, peak memory {:.0f} MB{}\n",
               spec.output.path, s.n_neurons, s.n_synapses,
               static_cast<double>(s.steps_done) * spec.simulation.dt,
               s.first_step > 0 ? fmt::format(" (resumed at t = {} ms)",
                                              static_cast<double>(s.first_step) *
                                                  spec.simulation.dt)
                                : std::string(),
               format_duration(s.wall_seconds), format_duration(s.build_seconds), spikes, rate,
               events_per_s, static_cast<double>(glia::peak_rss_bytes()) / 1e6,
               branching ? fmt::format(", branching factor {:.4f}", branching->result.value)
                         : std::string());
    if (!stats.empty()) {
        write_stats(stats, sim.report(), s, spec.simulation.dt, spikes, spec.output.path,
                    branching ? std::optional<double>(branching->result.value) : std::nullopt);
    }
    return s.status == glia::run_status::interrupted ? exit_interrupted : exit_ok;
}

int cmd_validate(const std::string& file, const std::vector<std::string>& sets) {
    glia::model_registry models;
    glia::models::register_builtin_models(models);
    const auto spec = load(file, sets, models);
    if (spec.protocol.type != glia::protocol_spec::kind::none) {
        fmt::print("{}: ok ({})\n", file, glia::app::describe_protocol(spec));
        return exit_ok;
    }
    std::size_t neurons = 0;
    for (const auto& p: spec.populations) {
        neurons += p.size;
    }
    fmt::print("{}: ok ({} populations, {} neurons, {} projections, {} inputs, {} reports; "
               "{} ms at dt = {} ms)\n",
               file, spec.populations.size(), neurons, spec.projections.size(),
               spec.inputs.size(), spec.record.reports.size(), spec.simulation.duration,
               spec.simulation.dt);
    return exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
    const glia::io::hdf5_library_guard hdf5_library;  // first: HDF5 is closed after everything
    auto log = spdlog::stderr_color_mt("glia");
    log->set_pattern("[%H:%M:%S] [%^%l%$] %v");

    std::string command_line;
    for (int i = 0; i < argc; ++i) {
        command_line += (i > 0 ? " " : "") + std::string(argv[i]);
    }

    CLI::App app{"glia: event-driven spiking network simulator"};
    app.set_version_flag("--version", fmt::format("glia {} ({})", glia::version_string,
                                                  glia::git_hash));
    app.require_subcommand(1);
    std::string log_level = "info";
    app.add_option("--log-level", log_level, "trace, debug, info, warn, error, off")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));

    run_options ro;
    ro.command_line = command_line;
    std::string file;
    std::vector<std::string> sets;
    bool no_progress = false;

    auto* run = app.add_subcommand("run", "run an experiment file");
    run->add_option("file", ro.file, "experiment (YAML)")->required();
    run->add_option("-o,--output", ro.output, "output file (HDF5); overrides output.file");
    run->add_option("--set", ro.sets, "override a config value: key.path=value (repeatable)");
    run->add_option("--threads", ro.threads, "worker threads (default: simulation.threads or all)")
        ->check(CLI::NonNegativeNumber);
    run->add_option("--partitions", ro.partitions, "partitions (default: the thread count)")
        ->check(CLI::NonNegativeNumber);
    run->add_flag("--no-progress", no_progress, "no progress line");
    run->add_option("--stats", ro.stats,
                    "write the run's figures (times, events/s, memory) as JSON");
    run->add_option("--monitor", ro.monitor,
                    "serve a live view of the run on HOST:PORT (e.g. 127.0.0.1:8080; port 0: any "
                    "free one); see docs/monitor.md");
    run->add_flag("--resume", ro.resume,
                  "continue a run stopped by a signal: a network run from its checkpoint "
                  "<output>.ckpt, a two_phase run from the samples in its output (same file and "
                  "--set options; any --threads, and for a network run any --partitions). A "
                  "--point run resumes by itself when its checkpoint (or two_phase output) fits");
    run->add_option("--point", ro.point,
                    "run point K of the file's sweep: block, into <sweep dir>/point_K/ (see glia "
                    "sweep FILE --list)")
        ->check(CLI::NonNegativeNumber);

    auto* validate = app.add_subcommand("validate", "check an experiment file without running it");
    validate->add_option("file", file, "experiment (YAML)")->required();
    validate->add_option("--set", sets, "override a config value: key.path=value (repeatable)");

    std::string h5;
    auto* inspect = app.add_subcommand("inspect", "summarise an output file");
    inspect->add_option("file", h5, "output file (HDF5)")->required();

    glia::app::sweep_options so;
    auto* sweep = glia::app::add_sweep_command(app, so);

    try {
        app.parse(argc, argv);
    }
    catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? exit_ok : exit_user_error;
    }
    log->set_level(spdlog::level::from_str(log_level));

    try {
        if (*run) {
            if (run->count("--monitor") > 0) {
                glia::runtime::parse_monitor_address(ro.monitor);  // refuses '' like any bad one
            }
            ro.progress = !no_progress;
            return cmd_run(ro, log);
        }
        if (*validate) {
            return cmd_validate(file, sets);
        }
        if (*inspect) {
            glia::io::check_input_file(h5, "output file");  // a FIFO would block the read
            fmt::print("{}", glia::io::is_reservoir_file(h5) ? glia::io::inspect_reservoir(h5)
                                                              : glia::io::inspect(h5));
            return exit_ok;
        }
        if (*sweep) {
            return glia::app::cmd_sweep(so, log);
        }
    }
    // Messages quote file names, keys and values as the user gave them: escaped, so that no
    // byte of theirs reaches the terminal as a control sequence.
    catch (const glia::error& e) {
        log->error("{}", glia::printable(e.what()));
        return exit_user_error;
    }
    catch (const std::exception& e) {
        log->critical("internal error: {}", glia::printable(e.what()));
        return exit_internal_error;
    }
    return exit_ok;
}
