#include "app/run_checkpoint.hpp"

#include <chrono>
#include <filesystem>
#include <istream>
#include <ostream>
#include <system_error>

#include <fmt/format.h>

#include <glia/error.hpp>
#include <glia/version_info.hpp>

#include "app/app_util.hpp"
#include "io/hdf5_reader.hpp"

namespace glia::app {

namespace {

namespace fs = std::filesystem;

bool exists(const std::string& path) {
    std::error_code ec;
    return fs::exists(path, ec);
}

void remove_file(const std::string& path, spdlog::logger& log, const char* why) {
    std::error_code ec;
    if (fs::remove(path, ec)) {
        log.info("removed checkpoint {} ({})", path, why);
    } else if (ec) {
        log.warn("cannot remove checkpoint {}: {}", path, ec.message());
    }
}

}  // namespace

run_checkpoint::run_checkpoint(const experiment_spec& spec, resume_mode mode,
                               std::shared_ptr<spdlog::logger> log):
    spec_(spec),
    resume_(mode != resume_mode::fresh),
    log_(std::move(log)),
    path_(io::checkpoint_path(spec.output.path)),
    identity_{spec.config_text, version_string, git_hash} {
    if (mode == resume_mode::fresh) {
        return;
    }
    if (mode == resume_mode::if_resumable) {
        // Every check of --resume that can be made before the build, as a decision, not an
        // error: a checkpoint that does not fit is not used (and is removed by the fresh run).
        if (!exists(path_)) {
            resume_ = false;
            return;
        }
        try {
            header_ = io::read_checkpoint_header(path_);
            const std::string note = io::check_checkpoint(path_, header_, identity_);
            check_output();
            if (!note.empty()) {
                log_->warn("{}: the continuation may differ from an uninterrupted run", note);
            }
        }
        catch (const error& e) {
            resume_ = false;
            header_ = {};
            not_resumed_ = e.what();
        }
        return;
    }
    if (!exists(path_)) {
        throw error(fmt::format("cannot resume: there is no checkpoint '{}' for output '{}' "
                                "(glia run writes one next to its output when SIGINT, SIGTERM or "
                                "SIGUSR1 stops it)",
                                path_, spec.output.path));
    }
    header_ = io::read_checkpoint_header(path_);
    const std::string note = io::check_checkpoint(path_, header_, identity_);
    if (!note.empty()) {
        log_->warn("{}: the continuation may differ from an uninterrupted run", note);
    }
}

void run_checkpoint::check_output() const {
    const std::string& out = spec_.output.path;
    std::error_code ec;
    if (!fs::is_regular_file(out, ec)) {
        throw error(fmt::format("checkpoint '{}' continues output '{}', which does not exist",
                                path_, out));
    }
    io::run_info info;
    try {
        info = io::read_run_info(out);
    }
    catch (const error& e) {
        throw error(fmt::format("checkpoint '{}' continues output '{}', which cannot be read: {}",
                                path_, out, e.what()));
    }
    if (info.config != spec_.config_text) {
        throw error(fmt::format("checkpoint '{}' continues output '{}', which was written by "
                                "another experiment (its /run@config differs from the resolved "
                                "config)",
                                path_, out));
    }
    if (info.status == "complete") {
        throw error(
            fmt::format("checkpoint '{}' continues output '{}', which is complete", path_, out));
    }
}

void run_checkpoint::restore(simulation& sim) {
    if (!resume_) {
        return;
    }
    const auto t0 = std::chrono::steady_clock::now();
    io::read_checkpoint_body(path_, header_, [&](std::istream& in) { sim.load_state(in); });
    if (sim.now() != header_.info.step) {
        throw error(fmt::format("checkpoint '{}': its header says step {}, its state step {}",
                                path_, header_.info.step, sim.now()));
    }
    log_->info("resuming from {}: step {} (t = {} ms), written {} with {} partitions; state "
               "read in {:.3f} s",
               path_, header_.info.step, header_.info.time_ms, header_.info.written,
               header_.info.partitions,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

io::hdf5_options run_checkpoint::sink_options() {
    io::hdf5_options o;
    o.resume = resume_;
    if (!resume_ && exists(path_)) {
        remove_file(path_, *log_, "this run writes its output anew; --resume continues a run");
    }
    return o;
}

void run_checkpoint::finish(const run_summary& summary, const simulation& sim,
                            const std::function<bool()>& forced) {
    if (summary.status == run_status::completed) {
        if (exists(path_)) {
            remove_file(path_, *log_, "the run is complete");
        }
        return;
    }
    const double t_ms = static_cast<double>(summary.steps_done) * spec_.simulation.dt;
    const std::string kept =
        exists(path_) ? fmt::format("; the earlier checkpoint {} stays valid", path_) : "";
    if (forced()) {
        log_->warn("second signal: no checkpoint written (the output is readable up to t = {} "
                   "ms){}",
                   t_ms, kept);
        return;
    }
    io::checkpoint_info info;
    info.step = summary.steps_done;
    info.time_ms = t_ms;
    info.threads = sim.report().threads;
    info.partitions = sim.report().partitions;
    info.written = now_iso8601();
    info.host = host_name();
    info.output = spec_.output.path;
    const auto t0 = std::chrono::steady_clock::now();
    const bool written = io::write_checkpoint(
        path_, identity_, info, [&](std::ostream& out) { sim.save_state(out); }, forced);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!written) {
        log_->warn("second signal: checkpoint abandoned after {:.3f} s{}", seconds, kept);
        return;
    }
    std::error_code ec;
    const auto bytes = fs::file_size(path_, ec);
    log_->info("checkpoint written: {} ({:.3f} MB in {:.3f} s, t = {} ms); continue the run with "
               "the same command and --resume",
               path_, static_cast<double>(bytes) / 1e6, seconds, t_ms);
}

}  // namespace glia::app
