#include "app/cmd_sweep.hpp"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include <glia/error.hpp>
#include <glia/simulation.hpp>
#include <glia/text.hpp>

#include "models/register_models.hpp"
#include "runtime/signals.hpp"
#include "sweep/collect.hpp"
#include "sweep/local_executor.hpp"
#include "sweep/point_status.hpp"
#include "sweep/slurm.hpp"

#include <unistd.h>

namespace glia::app {
namespace {

namespace fs = std::filesystem;

constexpr int exit_ok = 0;
constexpr int exit_failed = 1;
constexpr int exit_interrupted = 3;

// The running executable, so that children and cluster tasks run this very glia.
std::string self_executable() {
    std::error_code ec;
    const fs::path p = fs::read_symlink("/proc/self/exe", ec);
    if (ec) {
        throw error("cannot find the glia executable (/proc/self/exe): " + ec.message());
    }
    return p.string();
}

// A table with left-aligned columns, for --list.
std::string aligned(const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> width;
    for (const auto& r: rows) {
        width.resize(std::max(width.size(), r.size()));
        for (std::size_t c = 0; c < r.size(); ++c) {
            width[c] = std::max(width[c], r[c].size());
        }
    }
    std::string out;
    for (const auto& r: rows) {
        std::string line;
        for (std::size_t c = 0; c < r.size(); ++c) {
            line += c + 1 < r.size() ? fmt::format("{:<{}}  ", r[c], width[c]) : r[c];
        }
        out += line + "\n";
    }
    return out;
}

int run_list(const sweep::sweep_plan& plan, const std::vector<std::string>& configs) {
    fmt::print("sweep '{}' of {}: {} point{} into {}/\n", plan.name, plan.file, plan.points.size(),
               plan.points.size() == 1 ? "" : "s", plan.directory.string());
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> header{"point"};
    header.insert(header.end(), plan.keys.begin(), plan.keys.end());
    header.insert(header.end(), {"status", "output"});
    rows.push_back(header);
    for (const auto& p: plan.points) {
        std::vector<std::string> row{std::to_string(p.index)};
        for (const auto& a: p.values) {
            row.push_back(a.value);
        }
        const sweep::point_state state = sweep::read_point_state(p.output, configs[p.index]);
        std::string status(sweep::to_string(state.status));
        if (state.status == sweep::point_status::failed && state.info &&
            !state.info->error.empty()) {
            status += ": " + printable(state.info->error);
        }
        row.push_back(std::move(status));
        row.push_back(p.output.string());
        rows.push_back(std::move(row));
    }
    fmt::print("{}", aligned(rows));
    return exit_ok;
}

int run_local(const sweep_options& o, const sweep::sweep_plan& plan,
              const std::vector<std::string>& configs, spdlog::logger& log) {
    if (o.jobs < 1) {
        throw error(fmt::format("glia sweep --local: -j must be >= 1, got {}", o.jobs));
    }
    sweep::local_options lo;
    lo.executable = self_executable();
    lo.jobs = o.jobs;
    const int cores = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
    lo.threads_per_point = o.threads > 0 ? o.threads : std::max(1, cores / o.jobs);
    lo.configs = configs;
    std::atomic<bool> stop{false};
    const runtime::signal_watcher signals(stop);
    lo.stop = &stop;
    const sweep::local_result r = sweep::run_local(plan, lo, log);
    const std::size_t complete = r.skipped + r.completed;
    if (r.interrupted) {
        log.warn("sweep interrupted: {}/{} points complete; run the same command again to "
                 "finish the rest (stopped points continue from their checkpoints)",
                 complete, plan.points.size());
        return exit_interrupted;
    }
    if (!r.failed.empty()) {
        std::vector<std::string> ids;
        for (auto k: r.failed) {
            ids.push_back(std::to_string(k));
        }
        log.error("{} point{} failed: {} (logs: <point dir>/glia.log); {}/{} complete",
                  r.failed.size(), r.failed.size() == 1 ? "" : "s", fmt::join(ids, ", "), complete,
                  plan.points.size());
        return exit_failed;
    }
    log.info("sweep '{}': all {} points complete ({} run now, {} already done)", plan.name,
             plan.points.size(), r.completed, r.skipped);
    return exit_ok;
}

int run_slurm(const sweep_options& o, const sweep::sweep_plan& plan,
              const std::vector<std::string>& configs, spdlog::logger& log) {
    if (o.cpus_per_task < 1) {
        throw error(fmt::format("glia sweep --slurm: --cpus-per-task must be >= 1, got {}",
                                o.cpus_per_task));
    }
    if (o.array_limit < 0) {
        throw error(
            fmt::format("glia sweep --slurm: --array-limit must be >= 0, got {}", o.array_limit));
    }
    std::vector<std::size_t> points;
    for (const auto& p: plan.points) {
        if (o.all || sweep::read_point_state(p.output, configs[p.index]).status !=
                         sweep::point_status::complete) {
            points.push_back(p.index);
        }
    }
    if (points.empty()) {
        fmt::print("all {} points of sweep '{}' are complete: nothing to submit (--all submits "
                   "them again)\n",
                   plan.points.size(), plan.name);
        return exit_ok;
    }
    sweep::slurm_options so;
    so.executable = self_executable();
    so.work_dir = fs::current_path().string();
    so.partition = o.partition;
    so.time = o.time;
    so.account = o.account;
    so.mem = o.mem;
    so.extra = o.extra;
    so.array_limit = o.array_limit;
    so.cpus_per_task = o.cpus_per_task;
    const fs::path script = sweep::write_sbatch_script(plan, points, so);
    if (points.size() < plan.points.size()) {
        log.info("{} of {} points are complete; the array holds the other {}",
                 plan.points.size() - points.size(), plan.points.size(), points.size());
    }
    fmt::print("{}\n", script.string());
    if (o.submit) {
        const std::string id = sweep::submit_sbatch(script);
        fmt::print("submitted job array {} ({} task{}); logs in {}/\n", id, points.size(),
                   points.size() == 1 ? "" : "s",
                   (fs::absolute(plan.directory) / "slurm").string());
    }
    return exit_ok;
}

int run_collect(const sweep::sweep_plan& plan, const std::vector<std::string>& configs) {
    const sweep::collect_summary s = sweep::collect(plan, configs);
    std::vector<std::string> counts;
    for (const auto& [status, n]: s.by_status) {
        counts.push_back(fmt::format("{} {}", n, status));
    }
    fmt::print("collected {} points ({}) into {} and {}\n", plan.points.size(),
               fmt::join(counts, ", "), s.csv.string(), s.hdf5.string());
    return exit_ok;
}

}  // namespace

CLI::App* add_sweep_command(CLI::App& app, sweep_options& o) {
    auto* cmd = app.add_subcommand("sweep", "expand, run, submit or collect the points of a "
                                            "file's sweep: block (docs/sweeps.md)");
    cmd->add_option("file", o.file, "experiment with a sweep: block (YAML)")->required();
    auto* list_flag = cmd->add_flag("--list", o.list, "print the points");
    auto* local_flag =
        cmd->add_flag("--local", o.local, "run the points not yet complete locally");
    auto* slurm_flag = cmd->add_flag("--slurm", o.slurm,
                                     "write a SLURM job array script for the points not yet "
                                     "complete (and submit it with --submit)");
    auto* collect_flag = cmd->add_flag("--collect", o.collect,
                                       "gather every point's parameters and results into "
                                       "collected.csv and collected.h5");
    list_flag->excludes(local_flag, slurm_flag, collect_flag);
    local_flag->excludes(slurm_flag, collect_flag);
    slurm_flag->excludes(collect_flag);
    cmd->add_option("-j,--jobs", o.jobs, "--local: points at a time (default 1)")
        ->check(CLI::PositiveNumber);
    cmd->add_option("--threads", o.threads,
                    "--local: threads per point (default: the machine's cores / jobs)")
        ->check(CLI::PositiveNumber);
    cmd->add_option("--partition", o.partition, "--slurm: partition");
    cmd->add_option("--time", o.time, "--slurm: time limit per point (e.g. 02:00:00)");
    cmd->add_option("--array-limit", o.array_limit, "--slurm: at most K tasks at once (%K)")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--cpus-per-task", o.cpus_per_task,
                    "--slurm: CPUs per task, and glia's threads (default 1)")
        ->check(CLI::PositiveNumber);
    cmd->add_option("--mem", o.mem, "--slurm: memory per task (e.g. 4G)");
    cmd->add_option("--account", o.account, "--slurm: account");
    cmd->add_option("--extra", o.extra,
                    "--slurm: more sbatch options, e.g. \"--qos=long --constraint=haswell\" "
                    "(repeatable)");
    cmd->add_flag("--all", o.all, "--slurm: include complete points");
    cmd->add_flag("--submit", o.submit, "--slurm: submit the script with sbatch");
    return cmd;
}

int cmd_sweep(const sweep_options& o, const std::shared_ptr<spdlog::logger>& log) {
    const int modes = int{o.list} + int{o.local} + int{o.slurm} + int{o.collect};
    if (modes != 1) {
        throw error("glia sweep: give one of --list, --local, --slurm, --collect");
    }
    if (o.submit && !o.slurm) {
        throw error("glia sweep: --submit goes with --slurm");
    }
    model_registry models;
    models::register_builtin_models(models);
    const sweep::sweep_plan plan = sweep::expand_sweep(o.file, models);
    // Every point is loaded once here: a bad value is reported now, not by a job hours later.
    const std::vector<std::string> configs = sweep::check_points(
        plan, models, [&](const experiment_spec& spec) { check_experiment(spec, models); });
    if (o.list) {
        return run_list(plan, configs);
    }
    if (o.local) {
        return run_local(o, plan, configs, *log);
    }
    if (o.slurm) {
        return run_slurm(o, plan, configs, *log);
    }
    return run_collect(plan, configs);
}

point_run plan_point_run(const std::string& file, long k, const model_registry& models) {
    point_run run;
    run.plan = sweep::expand_sweep(file, models);
    if (k < 0 || static_cast<std::size_t>(k) >= run.plan.points.size()) {
        throw error(fmt::format("--point {}: the sweep of {} has points 0 to {}", k, file,
                                run.plan.points.size() - 1));
    }
    run.index = static_cast<std::size_t>(k);
    const sweep::point& p = run.plan.points[run.index];
    run.output = p.output.string();
    run.stats = (p.directory / "stats.json").string();
    run.config = (p.directory / "config.yaml").string();
    return run;
}

experiment_spec load_point_run(const point_run& run, const std::vector<std::string>& user_sets,
                               const model_registry& models) {
    return sweep::load_point(run.plan, run.index, user_sets, models,
                             [&](const experiment_spec& spec) { check_experiment(spec, models); });
}

void write_point_config(const point_run& run, const experiment_spec& spec) {
    const sweep::point& p = run.plan.points[run.index];
    fs::create_directories(p.directory);
    std::ofstream out(run.config);
    out << fmt::format("# Point {} of sweep '{}' ({}): {}\n", run.index, run.plan.name,
                       run.plan.file, fmt::join(p.overrides(), ", "));
    out << "# The resolved experiment of this point; `glia run` on this file repeats it.\n";
    out << spec.config_text << "\n";
    out.close();
    if (!out) {
        throw error(fmt::format("cannot write '{}'", run.config));
    }
}

}  // namespace glia::app
