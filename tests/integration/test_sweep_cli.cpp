// End to end: `glia sweep --list / --local / --slurm (script only) / --collect` and
// `glia run --point K` with the real executable. The local executor runs a 6-point sweep, a
// point killed with SIGKILL in the middle of its run is redone (and only it) by a second
// invocation, a point that fails makes the sweep fail, and the collected table holds every
// point's values, read back from the outputs independently. A point stopped by SIGTERM continues
// from its checkpoint in the next invocation, to the spikes of an uninterrupted run (and the
// stats of the resumed part give the speed of that part); a checkpoint of an older version of
// the file is not used.

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "integration/sweep_harness.hpp"
#include "io/config_yaml.hpp"
#include "io/hdf5_reader.hpp"
#include "models/register_models.hpp"
#include "sweep/point_status.hpp"
#include "sweep/sweep.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using glia::test::run_glia;
using testing::HasSubstr;

const std::string six_points = "sweep:\n"
                               "  name: six\n"
                               "  grid: {populations.exc.params.tau_m: [10 ms, 20 ms, 30 ms]}\n"
                               "  repeats: 2\n";

glia::sweep::sweep_plan plan_of(const std::string& file) {
    glia::model_registry models;
    glia::models::register_builtin_models(models);
    return glia::sweep::expand_sweep(file, models);
}

std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// Starts `glia run FILE --point K ARGS...` in the background, its output to /dev/null.
pid_t start_point(const std::string& file, std::size_t k, const std::vector<std::string>& args) {
    const pid_t pid = fork();
    if (pid == 0) {
        const int null_fd = open("/dev/null", O_WRONLY);
        dup2(null_fd, 1);
        dup2(null_fd, 2);
        std::vector<std::string> all{GLIA_EXECUTABLE, "run", file, "--point", std::to_string(k)};
        all.insert(all.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& a: all) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        execv(GLIA_EXECUTABLE, argv.data());
        _exit(127);
    }
    return pid;
}

// Waits (up to 60 s) until point `p`'s output file exists: the run's signal handlers are then
// installed. False if `pid` ended first.
bool wait_for_output(const glia::sweep::point& p, pid_t pid) {
    for (int i = 0; i < 30000; ++i) {
        if (glia::sweep::read_point_state(p.output, "").status ==
            glia::sweep::point_status::running_or_killed) {
            return true;
        }
        if (waitpid(pid, nullptr, WNOHANG) != 0) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return false;
}

// Sends `signo` to `pid` and returns its exit code (-1 if a signal ended it).
int stop(pid_t pid, int signo) {
    kill(pid, signo);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The number after "\"key\": " in a stats file (glia run --stats); NaN if it is not there.
double stat_of(const std::string& json, const std::string& key) {
    const std::string tag = "\"" + key + "\": ";
    const auto at = json.find(tag);
    if (at == std::string::npos) {
        ADD_FAILURE() << "no " << key << " in " << json;
        return std::nan("");
    }
    return std::strtod(json.c_str() + at + tag.size(), nullptr);
}

const std::string two_points = "sweep:\n"
                               "  name: two\n"
                               "  repeats: 2\n";

class sweep_cli: public glia::test::sweep_scratch_test {};

}  // namespace

TEST_F(sweep_cli, list_prints_every_point_with_its_values_and_output) {
    const std::string cfg = write("six.yaml", glia::test::tiny_experiment(path("out"), six_points));
    const auto r = run_glia("sweep " + cfg + " --list");
    ASSERT_EQ(r.code, 0) << r.out;
    const auto plan = plan_of(cfg);
    ASSERT_EQ(plan.points.size(), 6u);
    EXPECT_THAT(r.out,
                HasSubstr("sweep 'six' of " + cfg + ": 6 points into " + path("out/six") + "/"));
    EXPECT_THAT(r.out, HasSubstr("populations.exc.params.tau_m"));
    EXPECT_THAT(r.out, HasSubstr("simulation.seed"));
    for (const auto& p: plan.points) {
        // index, the values in key order, the status, the output path: one line per point
        const std::string line_start = std::to_string(p.index) + " ";
        const auto at = r.out.find("\n" + line_start);
        ASSERT_NE(at, std::string::npos) << p.index;
        const std::string line = r.out.substr(at + 1, r.out.find('\n', at + 1) - at - 1);
        EXPECT_THAT(line, testing::MatchesRegex(std::to_string(p.index) + " +" + p.values[0].value +
                                                " +" + p.values[1].value + " +missing +" +
                                                p.output.string()));
    }
}

TEST_F(sweep_cli, run_point_writes_its_output_config_and_stats_into_the_point_directory) {
    const std::string cfg = write("six.yaml", glia::test::tiny_experiment(path("out"), six_points));
    const auto plan = plan_of(cfg);
    const auto& p = plan.points[3];
    const auto r = run_glia("run " + cfg + " --point 3 --no-progress");
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(p.output, fs::path(path("out/six/point_3/tiny.h5")));
    ASSERT_TRUE(fs::exists(p.output));
    ASSERT_TRUE(fs::exists(p.directory / "stats.json"));
    EXPECT_THAT(slurp(p.directory / "stats.json"), HasSubstr("\"status\": \"complete\""));

    // The run used the point's values...
    const auto info = glia::io::read_run_info(p.output.string());
    EXPECT_EQ(info.status, "complete");
    EXPECT_EQ(std::to_string(info.seed), p.values[1].value);
    EXPECT_THAT(info.config, HasSubstr("tau_m: " + p.values[0].value));
    // ... config.yaml is that resolved experiment, and runs to the same spikes on its own.
    const std::string config = slurp(p.directory / "config.yaml");
    EXPECT_THAT(config, HasSubstr(info.config));
    EXPECT_THAT(config, testing::StartsWith("# Point 3 of sweep 'six'"));
    const auto again = run_glia("run " + (p.directory / "config.yaml").string() + " -o " +
                                path("again.h5") + " --no-progress");
    ASSERT_EQ(again.code, 0) << again.out;
    for (const std::string pop: {"exc", "inh"}) {
        const auto a = glia::io::read_spikes(p.output.string(), pop);
        const auto b = glia::io::read_spikes(path("again.h5"), pop);
        EXPECT_EQ(a.node_ids, b.node_ids) << pop;
        EXPECT_EQ(a.timestamps, b.timestamps) << pop;
    }

    const auto bad = run_glia("run " + cfg + " --point 6");
    EXPECT_EQ(bad.code, 1);
    EXPECT_THAT(bad.out, HasSubstr("--point 6: the sweep of " + cfg + " has points 0 to 5"));
    const auto with_o = run_glia("run " + cfg + " --point 1 -o " + path("x.h5"));
    EXPECT_EQ(with_o.code, 1);
    EXPECT_THAT(with_o.out, HasSubstr("-o cannot be combined with --point"));
}

TEST_F(sweep_cli, local_runs_every_point_and_a_second_run_redoes_only_the_killed_one) {
    const std::string cfg = write("six.yaml", glia::test::tiny_experiment(path("out"), six_points));
    const auto plan = plan_of(cfg);
    const auto first = run_glia("sweep " + cfg + " --local -j 2");
    ASSERT_EQ(first.code, 0) << first.out;
    EXPECT_THAT(first.out, HasSubstr("6 points, 0 already complete, 6 to run, 2 at a time"));
    EXPECT_THAT(first.out, HasSubstr("all 6 points complete"));
    std::map<std::size_t, fs::file_time_type> written;
    for (const auto& p: plan.points) {
        ASSERT_EQ(glia::io::read_run_info(p.output.string()).status, "complete") << p.index;
        EXPECT_TRUE(fs::exists(p.directory / "glia.log"));
        written[p.index] = fs::last_write_time(p.output);
    }

    // Point 4 again, far longer, killed with SIGKILL once it has written part of its output.
    const std::size_t killed = 4;
    const auto& kp = plan.points[killed];
    const pid_t pid = start_point(
        cfg, killed, {"--set", "simulation.duration=600 s", "--no-progress", "--threads", "1"});
    ASSERT_GT(pid, 0);
    bool running = false;
    for (int i = 0; i < 400 && !running; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
        running = glia::sweep::read_point_state(kp.output, "").status ==
                  glia::sweep::point_status::running_or_killed;
    }
    ASSERT_TRUE(running) << "the long run of point 4 did not start writing";
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status));
    const auto cut = glia::io::read_run_info(kp.output.string());  // readable after kill -9
    EXPECT_EQ(cut.status, "running");
    EXPECT_THAT(run_glia("inspect " + kp.output.string()).out, HasSubstr("INCOMPLETE"));
    written[killed] = fs::last_write_time(kp.output);

    const auto second = run_glia("sweep " + cfg + " --local -j 2");
    ASSERT_EQ(second.code, 0) << second.out;
    EXPECT_THAT(second.out, HasSubstr("6 points, 5 already complete, 1 to run"));
    EXPECT_THAT(second.out, HasSubstr("point 4: output " + kp.output.string() +
                                      " is running-or-killed; redoing it"));
    EXPECT_THAT(second.out, HasSubstr("point 4 complete"));
    for (const auto& p: plan.points) {
        if (p.index == killed) {
            EXPECT_NE(fs::last_write_time(p.output), written[p.index]);
        } else {
            EXPECT_EQ(fs::last_write_time(p.output), written[p.index]) << p.index;
        }
    }
    const auto redone = glia::io::read_run_info(kp.output.string());
    EXPECT_EQ(redone.status, "complete");
    EXPECT_EQ(redone.steps_done, 2000);  // the sweep's 200 ms, not the killed run's 600 s

    // The collected table: every point complete, with values read back independently.
    const auto collected = run_glia("sweep " + cfg + " --collect");
    ASSERT_EQ(collected.code, 0) << collected.out;
    EXPECT_THAT(collected.out, HasSubstr("collected 6 points (6 complete)"));
    const std::string csv = path("out/six/collected.csv");
    const std::string h5 = path("out/six/collected.h5");
    const auto rows = glia::test::read_csv(csv);
    ASSERT_EQ(rows.size(), 7u);
    auto cols = glia::test::csv_columns(rows);
    ASSERT_EQ(cols.count("populations.exc.params.tau_m [ms]"), 1u) << csv;
    const auto h5_status = glia::test::read_h5_strings(h5, "/table/status");
    const auto h5_rate = glia::test::read_h5_numbers(h5, "/table/rate.exc");
    const auto h5_tau = glia::test::read_h5_numbers(h5, "/table/populations.exc.params.tau_m");
    ASSERT_EQ(h5_status.size(), 6u);
    ASSERT_EQ(h5_rate.size(), 6u);
    for (const auto& p: plan.points) {
        const std::size_t k = p.index;
        EXPECT_EQ(cols["point"][k], std::to_string(k));
        EXPECT_EQ(cols["status"][k], "complete");
        EXPECT_EQ(h5_status[k], "complete");
        const double tau = std::stod(p.values[0].value);  // "20 ms"
        EXPECT_DOUBLE_EQ(std::stod(cols["populations.exc.params.tau_m [ms]"][k]), tau);
        EXPECT_DOUBLE_EQ(h5_tau[k], tau);
        EXPECT_EQ(cols["simulation.seed"][k], p.values[1].value);
        const auto exc = glia::io::read_spikes(p.output.string(), "exc").node_ids.size();
        const auto inh = glia::io::read_spikes(p.output.string(), "inh").node_ids.size();
        ASSERT_GT(exc, 0u);
        const double T = 0.2;  // [s]
        EXPECT_EQ(cols["spikes"][k], std::to_string(exc + inh));
        EXPECT_DOUBLE_EQ(std::stod(cols["rate.exc [Hz]"][k]), static_cast<double>(exc) / 80.0 / T);
        EXPECT_DOUBLE_EQ(h5_rate[k], static_cast<double>(exc) / 80.0 / T);
        EXPECT_DOUBLE_EQ(std::stod(cols["rate.inh [Hz]"][k]), static_cast<double>(inh) / 20.0 / T);
        EXPECT_DOUBLE_EQ(std::stod(cols["rate [Hz]"][k]),
                         static_cast<double>(exc + inh) / 100.0 / T);
        EXPECT_EQ(cols["steps_done"][k], "2000");
        EXPECT_EQ(cols["n_neurons"][k], "100");
        const auto info = glia::io::read_run_info(p.output.string());
        EXPECT_EQ(cols["n_synapses"][k], std::to_string(info.n_synapses));
        EXPECT_EQ(cols["synaptic_events"][k], std::to_string(info.synaptic_events));
        EXPECT_EQ(cols["output"][k], p.output.string());
    }
    // Points with different taus differ (the overrides reached the runs).
    EXPECT_NE(cols["spikes"][0], cols["spikes"][4]);
}

TEST_F(sweep_cli, a_point_that_fails_fails_the_sweep_and_is_missing_from_the_table) {
    const std::string cfg = write("six.yaml", glia::test::tiny_experiment(path("out"), six_points));
    const auto plan = plan_of(cfg);
    fs::create_directories(plan.points[2].output);  // a directory where its output goes
    const auto r = run_glia("sweep " + cfg + " --local -j 2");
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_THAT(r.out, HasSubstr("point 2 missing"));
    EXPECT_THAT(r.out, HasSubstr("1 point failed: 2"));
    EXPECT_THAT(slurp(plan.points[2].directory / "glia.log"),
                HasSubstr("cannot write output file '" + plan.points[2].output.string() +
                          "': it is a directory"));
    const auto c = run_glia("sweep " + cfg + " --collect");
    EXPECT_THAT(c.out, HasSubstr("collected 6 points (5 complete, 1 missing)"));
    const auto cols = glia::test::csv_columns(glia::test::read_csv(path("out/six/collected.csv")));
    EXPECT_EQ(cols.at("status")[2], "missing");
    EXPECT_EQ(cols.at("spikes")[2], "");

    // --slurm (without --submit) writes a job array for exactly the missing point.
    const auto s = run_glia("sweep " + cfg + " --slurm --array-limit 3");
    ASSERT_EQ(s.code, 0) << s.out;
    const fs::path script = path("out/six/six.sbatch");
    EXPECT_THAT(s.out, HasSubstr(script.string()));
    EXPECT_THAT(slurp(script), HasSubstr("#SBATCH --array=2%3\n"));

    fs::remove(plan.points[2].output);
    const auto fixed = run_glia("sweep " + cfg + " --local -j 2");
    EXPECT_EQ(fixed.code, 0) << fixed.out;
    EXPECT_THAT(fixed.out, HasSubstr("5 already complete, 1 to run"));
}

TEST_F(sweep_cli, sigterm_stops_a_local_sweep_and_its_points_cleanly) {
    const std::string cfg =
        write("long.yaml", glia::test::tiny_experiment(path("out"), six_points, "600 s"));
    const auto plan = plan_of(cfg);
    const pid_t pid = fork();
    if (pid == 0) {
        const int null_fd = open("/dev/null", O_WRONLY);
        dup2(null_fd, 1);
        dup2(null_fd, 2);
        execl(GLIA_EXECUTABLE, GLIA_EXECUTABLE, "sweep", cfg.c_str(), "--local", "-j", "2",
              nullptr);
        _exit(127);
    }
    ASSERT_GT(pid, 0);
    // Both first points are writing; then stop the sweep.
    bool started = false;
    for (int i = 0; i < 400 && !started; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
        started = glia::sweep::read_point_state(plan.points[0].output, "").status ==
                      glia::sweep::point_status::running_or_killed &&
                  glia::sweep::read_point_state(plan.points[1].output, "").status ==
                      glia::sweep::point_status::running_or_killed;
    }
    ASSERT_TRUE(started);
    ASSERT_EQ(kill(pid, SIGTERM), 0);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 3);
    for (std::size_t k = 0; k < 2; ++k) {
        const auto info = glia::io::read_run_info(plan.points[k].output.string());
        EXPECT_EQ(info.status, "interrupted") << k;
        EXPECT_GT(info.steps_done, 0);
    }
    for (std::size_t k = 2; k < 6; ++k) {
        EXPECT_FALSE(fs::exists(plan.points[k].output)) << k;  // never started
    }
}

TEST_F(sweep_cli, sweep_needs_exactly_one_mode) {
    const std::string cfg = write("six.yaml", glia::test::tiny_experiment(path("out"), six_points));
    const auto none = run_glia("sweep " + cfg);
    EXPECT_EQ(none.code, 1);
    EXPECT_THAT(none.out, HasSubstr("glia sweep: give one of --list, --local, --slurm, --collect"));
    const auto two = run_glia("sweep " + cfg + " --list --collect");
    EXPECT_EQ(two.code, 1);
    EXPECT_THAT(two.out, HasSubstr("--list excludes --collect"));
    const auto no_sweep = run_glia(
        "sweep " + write("plain.yaml", glia::test::tiny_experiment(path("out"), "")) + " --list");
    EXPECT_EQ(no_sweep.code, 1);
    EXPECT_THAT(no_sweep.out, HasSubstr("plain.yaml has no 'sweep:' block (see docs/sweeps.md)"));
}

// A job that is pre-empted or hits its time limit loses nothing: a local sweep
// stopped by SIGTERM while point 0 runs; that point writes a checkpoint, and the next
// `glia sweep --local` continues it from there (point 1, never started, runs from its start).
// The finished point has the spikes of an uninterrupted run, bit for bit; its stats.json gives
// the speed of the resumed part (events and steps of that part over its wall time).
TEST_F(sweep_cli, a_point_stopped_by_sigterm_continues_from_its_checkpoint_in_the_next_sweep) {
    // 60 s simulated: about a second of wall time per point.
    const std::string cfg = write("two.yaml", glia::test::tiny_experiment(path("out"), two_points,
                                                                         "60 s"));
    const auto plan = plan_of(cfg);
    ASSERT_EQ(plan.points.size(), 2u);
    const auto& p0 = plan.points[0];
    const std::string ckpt = p0.output.string() + ".ckpt";
    const std::int64_t n_steps = 600000;

    const pid_t pid = fork();
    if (pid == 0) {
        const int null_fd = open("/dev/null", O_WRONLY);
        dup2(null_fd, 1);
        dup2(null_fd, 2);
        execl(GLIA_EXECUTABLE, GLIA_EXECUTABLE, "sweep", cfg.c_str(), "--local", "-j", "1",
              "--threads", "1", nullptr);
        _exit(127);
    }
    ASSERT_GT(pid, 0);
    ASSERT_TRUE(wait_for_output(p0, pid)) << "point 0 did not start";
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // into the run
    ASSERT_EQ(stop(pid, SIGTERM), 3);
    const auto cut = glia::io::read_run_info(p0.output.string());
    ASSERT_EQ(cut.status, "interrupted") << slurp(p0.directory / "glia.log");
    ASSERT_GT(cut.steps_done, 0);
    ASSERT_LT(cut.steps_done, n_steps);
    ASSERT_TRUE(fs::exists(ckpt)) << slurp(p0.directory / "glia.log");
    EXPECT_FALSE(fs::exists(plan.points[1].output));  // never started
    const std::string first_stats = slurp(p0.directory / "stats.json");
    EXPECT_EQ(stat_of(first_stats, "steps"), static_cast<double>(cut.steps_done));
    const auto events_before = static_cast<std::uint64_t>(stat_of(first_stats, "synaptic_events"));
    EXPECT_EQ(events_before, cut.synaptic_events);

    const auto second = run_glia("sweep " + cfg + " --local -j 1 --threads 1");
    ASSERT_EQ(second.code, 0) << second.out;
    EXPECT_THAT(second.out, HasSubstr("2 points, 0 already complete, 2 to run"));
    EXPECT_THAT(second.out, HasSubstr("point 0: output " + p0.output.string() +
                                      " is interrupted; continuing it from its checkpoint"));
    EXPECT_THAT(second.out, HasSubstr("all 2 points complete"));
    const std::string log = slurp(p0.directory / "glia.log");  // both parts: appended
    EXPECT_THAT(log, HasSubstr("checkpoint written: " + ckpt));
    EXPECT_THAT(log, HasSubstr("resuming point 0 from " + ckpt + " (step " +
                               std::to_string(cut.steps_done) + ", t = "));
    EXPECT_THAT(log, HasSubstr("removed checkpoint " + ckpt + " (the run is complete)"));
    EXPECT_THAT(log, HasSubstr("60000 ms simulated (resumed at t = "));
    EXPECT_FALSE(fs::exists(ckpt));
    EXPECT_THAT(slurp(plan.points[1].directory / "glia.log"),
                testing::Not(HasSubstr("resuming")));

    // The same point run without a stop (its config.yaml, other thread count): same spikes.
    const auto ref = run_glia("run " + (p0.directory / "config.yaml").string() + " -o " +
                              path("ref.h5") + " --no-progress --threads 2");
    ASSERT_EQ(ref.code, 0) << ref.out;
    EXPECT_GT(glia::io::read_spikes(path("ref.h5"), "exc").node_ids.size(), 100000u);
    for (const std::string pop: {"exc", "inh"}) {
        const auto a = glia::io::read_spikes(path("ref.h5"), pop);
        const auto b = glia::io::read_spikes(p0.output.string(), pop);
        EXPECT_EQ(a.node_ids, b.node_ids) << pop;
        EXPECT_EQ(a.timestamps, b.timestamps) << pop;
    }
    const auto info = glia::io::read_run_info(p0.output.string());
    const auto ref_info = glia::io::read_run_info(path("ref.h5"));
    EXPECT_EQ(info.status, "complete");
    EXPECT_EQ(info.steps_done, n_steps);
    EXPECT_EQ(info.synaptic_events, ref_info.synaptic_events);
    ASSERT_GT(info.synaptic_events, events_before);

    // The stats of the resumed part: counts of the whole run, speed of the part.
    const std::string stats = slurp(p0.directory / "stats.json");
    EXPECT_EQ(stat_of(stats, "resumed_from_step"), static_cast<double>(cut.steps_done));
    EXPECT_EQ(stat_of(stats, "steps"), static_cast<double>(n_steps));
    EXPECT_EQ(stat_of(stats, "steps_this_part"), static_cast<double>(n_steps - cut.steps_done));
    EXPECT_EQ(stat_of(stats, "synaptic_events"), static_cast<double>(info.synaptic_events));
    const auto part_events = info.synaptic_events - events_before;
    EXPECT_EQ(stat_of(stats, "synaptic_events_this_part"), static_cast<double>(part_events));
    const double wall = stat_of(stats, "wall_seconds");
    ASSERT_GT(wall, 0.0);
    const double expected_rate = static_cast<double>(part_events) / wall;
    EXPECT_NEAR(stat_of(stats, "events_per_second"), expected_rate, 2e-5 * expected_rate);
    const auto ref_stats = run_glia("run " + (p0.directory / "config.yaml").string() + " -o " +
                                    path("ref2.h5") + " --no-progress --threads 1 --stats " +
                                    path("ref_stats.json"));
    ASSERT_EQ(ref_stats.code, 0) << ref_stats.out;
    EXPECT_EQ(stat_of(slurp(path("ref_stats.json")), "resumed_from_step"), 0.0);

    const auto collected = run_glia("sweep " + cfg + " --collect");
    ASSERT_EQ(collected.code, 0) << collected.out;
    EXPECT_THAT(collected.out, HasSubstr("collected 2 points (2 complete)"));
    const auto cols = glia::test::csv_columns(glia::test::read_csv(path("out/two/collected.csv")));
    EXPECT_EQ(cols.at("steps_done")[0], std::to_string(n_steps));
    EXPECT_EQ(cols.at("synaptic_events")[0], std::to_string(ref_info.synaptic_events));
}

// A checkpoint of an older version of the file (the user changed it since) is not used: the
// point runs from its start, with a warning saying why, and the checkpoint goes. An explicit
// --resume stays strict: it refuses and changes nothing.
TEST_F(sweep_cli, a_checkpoint_of_another_config_is_not_used_and_the_point_runs_from_its_start) {
    const std::string text = glia::test::tiny_experiment(path("out"), two_points, "60 s");
    const std::string cfg = write("two.yaml", text);
    const auto plan = plan_of(cfg);
    const auto& p0 = plan.points[0];
    const std::string ckpt = p0.output.string() + ".ckpt";
    const pid_t pid = start_point(cfg, 0, {"--threads", "1", "--no-progress"});
    ASSERT_GT(pid, 0);
    ASSERT_TRUE(wait_for_output(p0, pid)) << "point 0 did not start";
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_EQ(stop(pid, SIGTERM), 3);
    ASSERT_TRUE(fs::exists(ckpt));
    const std::string ckpt_bytes = slurp(ckpt);

    // The file changes: another drive rate (and a shorter run).
    std::string changed = text;
    for (const auto& [from, to]: {std::pair<std::string, std::string>{"rate: 8 kHz", "rate: 9 kHz"},
                                  {"duration: 60 s", "duration: 2 s"}}) {
        const auto at = changed.find(from);
        ASSERT_NE(at, std::string::npos) << from;
        changed.replace(at, from.size(), to);
    }
    write("two.yaml", changed);

    const auto strict = run_glia("run " + cfg + " --point 0 --resume --no-progress");
    EXPECT_EQ(strict.code, 1);
    EXPECT_THAT(strict.out, HasSubstr("checkpoint '" + ckpt + "' belongs to another experiment: "));
    EXPECT_THAT(strict.out, HasSubstr("inputs.drive.rate is '8 kHz' in the checkpoint and '9 kHz' "
                                      "now"));
    EXPECT_TRUE(slurp(ckpt) == ckpt_bytes);

    const auto r = run_glia("sweep " + cfg + " --local -j 1 --threads 1");
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_THAT(r.out, HasSubstr("point 0: output " + p0.output.string() +
                                 " is interrupted; redoing it"));
    const std::string log = slurp(p0.directory / "glia.log");
    EXPECT_THAT(log, HasSubstr("point 0: not resuming: checkpoint '" + ckpt +
                               "' belongs to another experiment: "));
    EXPECT_THAT(log, HasSubstr("inputs.drive.rate is '8 kHz' in the checkpoint and '9 kHz' now"));
    EXPECT_THAT(log, HasSubstr("; the point runs from its start (which removes the checkpoint)"));
    EXPECT_THAT(log, HasSubstr("removed checkpoint " + ckpt));
    EXPECT_THAT(log, testing::Not(HasSubstr("resuming point 0")));
    EXPECT_FALSE(fs::exists(ckpt));
    const auto info = glia::io::read_run_info(p0.output.string());
    EXPECT_EQ(info.status, "complete");
    EXPECT_EQ(info.steps_done, 20000);
    EXPECT_THAT(info.config, HasSubstr("rate: 9 kHz"));
    EXPECT_EQ(stat_of(slurp(p0.directory / "stats.json"), "resumed_from_step"), 0.0);
}
