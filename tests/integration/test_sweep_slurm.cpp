// SLURM for real: each test starts a one-node cluster on localhost with
// tools/slurm_local_cluster.sh (which installs slurm-wlm and munge with apt-get if they are
// missing, writes slurm.conf, starts munged, slurmctld and slurmd, and waits for the node to be
// idle), submits a job array with `glia sweep FILE --slurm --submit`, waits for it, checks the
// outputs and the collected table, and stops the daemons. A task at its time limit stops
// cleanly on SLURM's warning signal; a requeued task continues its point from its checkpoint.
//
// Needs root (the daemons run as root). Without root, or on a machine without SLURM that we may
// not install on, the tests are skipped with the reason, unless GLIA_REQUIRE_SLURM=1 (CI): then
// they fail.

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "integration/sweep_harness.hpp"
#include "io/hdf5_reader.hpp"
#include "models/register_models.hpp"
#include "sweep/sweep.hpp"

#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using glia::test::run_glia;
using glia::test::run_shell;
using testing::HasSubstr;

const std::string cluster_script = std::string(GLIA_SOURCE_DIR) + "/tools/slurm_local_cluster.sh";

bool slurm_required() {
    const char* v = std::getenv("GLIA_REQUIRE_SLURM");
    return v != nullptr && std::string(v) == "1";
}

class slurm_cluster: public glia::test::sweep_scratch_test {
protected:
    void SetUp() override {
        sweep_scratch_test::SetUp();
        if (geteuid() != 0) {
            if (slurm_required()) {
                FAIL() << "GLIA_REQUIRE_SLURM=1, but the SLURM tests need root";
            }
            GTEST_SKIP() << "the SLURM tests start slurmctld/slurmd as root; run them as root "
                            "(or see docs/sweeps.md)";
        }
        // Short: munged's socket path must fit a sockaddr_un (108 bytes).
        cluster_ = fs::temp_directory_path() / ("glia_slurm_" + std::to_string(getpid()));
        // Ports of our own, so that clusters of concurrent tests (and a real SLURM) coexist.
        const int port = 20000 + 2 * static_cast<int>(getpid() % 10000);
        started_ = true;  // from here on TearDown stops whatever did start
        // GLIA_SLURM_OWNER: the daemons go with this process even if it crashes.
        const auto r = run_shell("GLIA_SLURM_PORT=" + std::to_string(port) +
                                 " GLIA_SLURM_OWNER=" + std::to_string(getpid()) + " bash " +
                                 cluster_script + " start " + cluster_.string());
        ASSERT_EQ(r.code, 0) << r.out;
        conf_ = (cluster_ / "slurm.conf").string();
        setenv("SLURM_CONF", conf_.c_str(), 1);  // for sbatch run by glia, and squeue below
    }

    void TearDown() override {
        if (started_) {
            const auto r = run_shell("bash " + cluster_script + " stop " + cluster_.string());
            EXPECT_EQ(r.code, 0) << r.out;
            for (const std::string daemon: {"watchdog", "slurmd", "slurmctld", "munged"}) {
                EXPECT_FALSE(fs::exists(cluster_ / (daemon + ".pid"))) << daemon;
            }
            if (!HasFailure()) {
                fs::remove_all(cluster_);  // kept after a failure: its log/ says why
            }
        }
        sweep_scratch_test::TearDown();
    }

    // Waits until the job has left the queue; false after `timeout`.
    bool wait_for_job(const std::string& id, std::chrono::seconds timeout) const {
        const auto end = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < end) {
            const auto q = run_shell("squeue -h -j " + id);
            // squeue: empty once the job is gone (or "Invalid job id" after MinJobAge)
            if (q.out.find_first_not_of(" \n") == std::string::npos ||
                q.out.find("Invalid job id") != std::string::npos) {
                return true;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(500));
        }
        return false;
    }

    std::string job_id_of(const std::string& out) const {
        const std::string tag = "submitted job array ";
        const auto at = out.find(tag);
        if (at == std::string::npos) {
            return "";
        }
        const auto start = at + tag.size();
        return out.substr(start, out.find(' ', start) - start);
    }

    std::string logs() const {
        return run_shell("tail -n 30 " + (cluster_ / "log" / "slurmctld.log").string() + " " +
                         (cluster_ / "log" / "slurmd.log").string())
            .out;
    }

    fs::path cluster_;
    std::string conf_;
    bool started_ = false;
};

glia::sweep::sweep_plan plan_of(const std::string& file) {
    glia::model_registry models;
    glia::models::register_builtin_models(models);
    return glia::sweep::expand_sweep(file, models);
}

}  // namespace

TEST_F(slurm_cluster, a_job_array_runs_every_point_and_collect_finds_them_all) {
    const std::string cfg = write(
        "four.yaml",
        glia::test::tiny_experiment(path("out"), "sweep:\n"
                                                 "  grid: {projections.ee.weight: [20 pA, 40 pA]}\n"
                                                 "  repeats: 2\n"));
    const auto plan = plan_of(cfg);
    ASSERT_EQ(plan.points.size(), 4u);
    const auto r = run_glia("sweep " + cfg + " --slurm --submit --array-limit 2 --time 00:05:00");
    ASSERT_EQ(r.code, 0) << r.out;
    const std::string script = path("out/four/four.sbatch");
    EXPECT_THAT(r.out, HasSubstr(script));
    const std::string id = job_id_of(r.out);
    ASSERT_FALSE(id.empty()) << r.out;
    ASSERT_TRUE(wait_for_job(id, std::chrono::seconds(240))) << logs();

    for (const auto& p: plan.points) {
        ASSERT_TRUE(fs::exists(p.output)) << p.index << "\n" << logs();
        const auto info = glia::io::read_run_info(p.output.string());
        EXPECT_EQ(info.status, "complete") << p.index;
        EXPECT_EQ(std::to_string(info.seed), p.values[1].value);
        EXPECT_THAT(info.config, HasSubstr("weight: " + p.values[0].value));
        EXPECT_THAT(info.command_line, HasSubstr("--point " + std::to_string(p.index)));
        EXPECT_TRUE(fs::exists(p.directory / "config.yaml"));
        EXPECT_TRUE(fs::exists(p.directory / "stats.json"));
        // The task's own log, named after the job and the task.
        EXPECT_TRUE(
            fs::exists(path("out/four/slurm/" + id + "_" + std::to_string(p.index) + ".out")))
            << p.index;
    }

    const auto c = run_glia("sweep " + cfg + " --collect");
    ASSERT_EQ(c.code, 0) << c.out;
    EXPECT_THAT(c.out, HasSubstr("collected 4 points (4 complete)"));
    auto cols = glia::test::csv_columns(glia::test::read_csv(path("out/four/collected.csv")));
    for (const auto& p: plan.points) {
        const std::size_t k = p.index;
        EXPECT_EQ(cols["status"][k], "complete");
        EXPECT_DOUBLE_EQ(std::stod(cols["projections.ee.weight [pA]"][k]),
                         std::stod(p.values[0].value));
        const auto exc = glia::io::read_spikes(p.output.string(), "exc").node_ids.size();
        EXPECT_DOUBLE_EQ(std::stod(cols["rate.exc [Hz]"][k]),
                         static_cast<double>(exc) / 80.0 / 0.2);
    }

    // Everything is complete: a second submission has nothing to do.
    const auto again = run_glia("sweep " + cfg + " --slurm --submit");
    EXPECT_EQ(again.code, 0) << again.out;
    EXPECT_THAT(again.out, HasSubstr("all 4 points of sweep 'four' are complete: nothing to "
                                     "submit"));
}

TEST_F(slurm_cluster, a_task_at_its_time_limit_gets_the_warning_signal_and_stops_cleanly) {
    // One point far longer than its 1-minute limit: SLURM sends USR1 (--signal=B:USR1@120, so
    // at once), glia stops at the end of its epoch, and the output is interrupted, not killed,
    // with a checkpoint beside it.
    const std::string cfg = write(
        "long.yaml", glia::test::tiny_experiment(path("out"),
                                                 "record: {spikes: none}\n"  // the file stays small
                                                 "sweep: {repeats: 1}\n",
                                                 "100000 s"));
    const auto plan = plan_of(cfg);
    const auto r = run_glia("sweep " + cfg + " --slurm --submit --time 1");
    ASSERT_EQ(r.code, 0) << r.out;
    const std::string id = job_id_of(r.out);
    ASSERT_FALSE(id.empty()) << r.out;
    ASSERT_TRUE(wait_for_job(id, std::chrono::seconds(240))) << logs();

    const auto& p = plan.points[0];
    const auto info = glia::io::read_run_info(p.output.string());
    EXPECT_EQ(info.status, "interrupted");
    EXPECT_GT(info.steps_done, 0);
    EXPECT_LT(info.steps_done, info.n_steps);
    const auto task_log = glia::test::run_shell("cat " + path("out/long/slurm/" + id + "_0.out"));
    EXPECT_THAT(task_log.out, HasSubstr("interrupted by signal 10"));  // SIGUSR1
    // It wrote its checkpoint: the next submission continues the point from there.
    EXPECT_THAT(task_log.out, HasSubstr("checkpoint written: " + p.output.string() + ".ckpt"));
    EXPECT_TRUE(fs::exists(p.output.string() + ".ckpt"));

    // The interrupted point is submitted again; a finished one would not be.
    const auto again = run_glia("sweep " + cfg + " --slurm");
    EXPECT_EQ(again.code, 0) << again.out;
    EXPECT_THAT(glia::test::run_shell("cat " + path("out/long/long.sbatch")).out,
                HasSubstr("#SBATCH --array=0\n"));
}

TEST_F(slurm_cluster, a_requeued_task_continues_its_point_from_its_checkpoint) {
    // What a preemption (PreemptMode=REQUEUE) or a lost node does to a task of the array, here
    // with `scontrol requeue`: SLURM sends SIGTERM to the batch shell, which is glia (exec);
    // glia writes its checkpoint; the task runs again (the script asks for --requeue) with the
    // same point, which resumes from the checkpoint, its log appended to the first part's.
    const std::string cfg = write(
        "requeue.yaml", glia::test::tiny_experiment(path("out"), "sweep: {repeats: 1}\n", "400 s"));
    const auto plan = plan_of(cfg);
    const auto& p = plan.points[0];
    const std::string ckpt = p.output.string() + ".ckpt";
    const auto r = run_glia("sweep " + cfg + " --slurm --submit --time 00:10:00");
    ASSERT_EQ(r.code, 0) << r.out;
    const std::string id = job_id_of(r.out);
    ASSERT_FALSE(id.empty()) << r.out;
    const std::string task = id + "_0";

    // Once the point writes its output (glia's signal handlers are then installed): requeue.
    bool running = false;
    for (int i = 0; i < 1200 && !running; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        running = fs::exists(p.output);
    }
    ASSERT_TRUE(running) << "the task did not start\n" << logs();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const auto rq = run_shell("scontrol requeue " + task);
    ASSERT_EQ(rq.code, 0) << rq.out;
    // A requeued job waits (SLURM sets its BeginTime 2 minutes ahead); once it is pending, let
    // it start now. Until the second run says that it resumes.
    const std::string task_log = path("out/requeue/slurm/" + task + ".out");
    bool resumed = false;
    for (int i = 0; i < 600 && !resumed; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        if (run_shell("squeue -h -o %T -j " + task).out.find("PENDING") != std::string::npos) {
            run_shell("scontrol update JobId=" + task + " StartTime=now");
        }
        resumed = run_shell("cat " + task_log).out.find("resuming point 0") != std::string::npos;
    }
    ASSERT_TRUE(resumed) << run_shell("cat " + task_log).out << logs();
    ASSERT_TRUE(wait_for_job(id, std::chrono::seconds(240))) << logs();

    const auto info = glia::io::read_run_info(p.output.string());
    EXPECT_EQ(info.status, "complete");
    EXPECT_EQ(info.steps_done, info.n_steps);
    EXPECT_FALSE(fs::exists(ckpt));
    const std::string log = run_shell("cat " + task_log).out;
    EXPECT_THAT(log, HasSubstr("interrupted by signal 15"));  // SIGTERM
    EXPECT_THAT(log, HasSubstr("checkpoint written: " + ckpt));
    EXPECT_THAT(log, HasSubstr("resuming point 0 from " + ckpt));
    EXPECT_THAT(log, HasSubstr("removed checkpoint " + ckpt + " (the run is complete)"));
    const std::string stats = run_shell("cat " + (p.directory / "stats.json").string()).out;
    EXPECT_THAT(stats, testing::Not(HasSubstr("\"resumed_from_step\": 0,")));
    EXPECT_THAT(stats, HasSubstr("\"resumed_from_step\": "));
}

// A protocol experiment swept on SLURM: NALSM's astrocyte weight w_A over a small liquid
// (configs/nalsm_sweep_wA.yaml): every point runs the two_phase protocol as a task of the job
// array, and --collect tabulates each point's accuracy and branching factor.
TEST_F(slurm_cluster, a_nalsm_sweep_over_w_a_runs_as_a_job_array) {
    if (!fs::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")) {
        const char* v = std::getenv("GLIA_REQUIRE_DATA");
        if (v != nullptr && std::string(v) == "1") {
            FAIL() << "GLIA_REQUIRE_DATA=1 but Fashion-MNIST is not installed";
        }
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    }
    std::string text = run_shell("cat " + std::string(GLIA_SOURCE_DIR) +
                                 "/configs/nalsm_sweep_wA.yaml")
                           .out;
    const std::string from = "file: results/nalsm_sweep_wA.h5";
    ASSERT_NE(text.find(from), std::string::npos);
    text.replace(text.find(from), from.size(), "file: " + path("out/nalsm.h5"));
    const std::string cfg = write("nalsm_sweep_wA.yaml", text);
    const auto plan = plan_of(cfg);
    ASSERT_EQ(plan.points.size(), 6u);
    const auto r = run_glia("sweep " + cfg + " --slurm --submit --array-limit 2 --time 00:10:00");
    ASSERT_EQ(r.code, 0) << r.out;
    const std::string id = job_id_of(r.out);
    ASSERT_FALSE(id.empty()) << r.out;
    ASSERT_TRUE(wait_for_job(id, std::chrono::seconds(400))) << logs();
    for (const auto& p: plan.points) {
        ASSERT_TRUE(fs::exists(p.output)) << p.index << "\n" << logs();
        const auto info = glia::io::read_run_info(p.output.string());
        EXPECT_EQ(info.status, "complete") << p.index;
        EXPECT_THAT(info.config, HasSubstr("w: " + p.values[0].value)) << p.index;
    }
    const auto c = run_glia("sweep " + cfg + " --collect");
    ASSERT_EQ(c.code, 0) << c.out;
    EXPECT_THAT(c.out, HasSubstr("collected 6 points (6 complete)"));
    auto cols = glia::test::csv_columns(glia::test::read_csv(path("out/nalsm_sweep_wA/collected.csv")));
    for (const auto& p: plan.points) {
        const std::size_t k = p.index;
        EXPECT_EQ(cols["status"][k], "complete");
        EXPECT_DOUBLE_EQ(std::stod(cols["modulators.astro.w"][k]), std::stod(p.values[0].value));
        // Ten classes: well above chance on 100 test images.
        EXPECT_GT(std::stod(cols["metrics.accuracy_test"][k]), 0.3) << k;
        EXPECT_GT(std::stod(cols["metrics.branching_factor"][k]), 0.1) << k;
    }
}
