// End to end: the glia executable on small and broken experiment files. Checks exit codes,
// the exact error messages a user sees (file:line:col, key, what is allowed, what was given),
// that a bad file never leaves an output behind, that the SONATA file holds exactly the spikes
// the engine emitted (read back in C++ and with h5py), and that a signal ends a run cleanly.

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <glia/simulation.hpp>

#include "cli_harness.hpp"
#include "io/config_yaml.hpp"
#include "io/hdf5_reader.hpp"
#include "spec_harness.hpp"

namespace fs = std::filesystem;
using testing::HasSubstr;

namespace {

using glia::test::cli_result;
using glia::test::run_glia;

class cli: public glia::test::scratch_test {
protected:
    cli(): scratch_test("cli") {}
};

// A small network with every section: 2 populations, 2 projections, a Poisson input, a report.
std::string small_config(const std::string& output, const std::string& extra_sim = "") {
    return "simulation:\n"
           "  dt: 0.1 ms\n"
           "  duration: 200 ms\n"
           "  seed: 7\n" +
           extra_sim +
           "populations:\n"
           "  exc:\n"
           "    model: iaf_psc_exp\n"
           "    size: 80\n"
           "    params: {E_L: -65 mV, V_th: -50 mV, V_reset: -65 mV, t_ref: 2 ms, tau_m: 20 ms,"
           " C_m: 250 pF}\n"
           "    initial: {V_m: {uniform: {low: -65 mV, high: -50 mV}}}\n"
           "  inh:\n"
           "    model: iaf_psc_exp\n"
           "    size: 20\n"
           "projections:\n"
           "  ee: {source: exc, target: exc, rule: pairwise_bernoulli, p: 0.1, weight: 30 pA,"
           " delay: 1.5 ms}\n"
           "  ie: {source: inh, target: exc, rule: fixed_indegree, indegree: 5, weight: -40 pA,"
           " delay: {uniform: {low: 0.5 ms, high: 2 ms}}}\n"
           "inputs:\n"
           "  drive: {type: poisson_generator, target: exc, rate: 8 kHz, weight: 40 pA}\n"
           "  bias: {type: dc_generator, target: inh, amplitude: 500 pA}\n"
           "record:\n"
           "  spikes: all\n"
           "  reports:\n"
           "    vm: {population: exc, variable: V_m, neurons: {first: 4}, interval: 1 ms}\n"
           "output:\n"
           "  file: " +
           output + "\n";
}

}  // namespace

TEST_F(cli, version_prints_the_version) {
    const auto r = run_glia("--version");
    EXPECT_EQ(r.code, 0);
    EXPECT_THAT(r.out, HasSubstr("glia 0.1"));
}

TEST_F(cli, run_writes_sonata_spikes_identical_to_the_engine) {
    const std::string out = path("small.h5");
    const std::string cfg = write("small.yaml", small_config(out));
    const auto r = run_glia("run " + cfg + " --threads 2");
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_THAT(r.out, HasSubstr(out));
    ASSERT_TRUE(fs::exists(out));

    // The same experiment in-process, into memory.
    glia::model_registry models;
    glia::models::register_builtin_models(models);
    const auto spec = glia::io::load_experiment(cfg, {}, models);
    glia::simulation sim(spec, models, glia::test::quiet_context(1, 3));
    glia::memory_sink mem;
    sim.run(mem);
    ASSERT_GT(mem.recorded_spikes.size(), 100u);

    std::size_t total = 0;
    for (const auto& [name, first, size]: {std::tuple{"exc", 0u, 80u}, {"inh", 80u, 20u}}) {
        const auto file = glia::io::read_spikes(out, name);
        std::vector<double> t;
        std::vector<std::uint64_t> ids;
        for (const auto& s: mem.recorded_spikes) {
            if (s.gid >= first && s.gid < first + size) {
                t.push_back(static_cast<double>(s.step + 1) * 0.1);
                ids.push_back(s.gid - first);
            }
        }
        EXPECT_EQ(file.node_ids, ids) << name;
        ASSERT_EQ(file.timestamps.size(), t.size()) << name;
        for (std::size_t k = 0; k < t.size(); ++k) {
            EXPECT_DOUBLE_EQ(file.timestamps[k], t[k]);
        }
        total += t.size();
    }
    EXPECT_EQ(total, mem.recorded_spikes.size());

    // The report: 200 frames of 4 neurons, equal to the in-memory frames.
    const auto rep = glia::io::read_report(out, "exc");
    EXPECT_EQ(rep.n_frames, 200u);
    EXPECT_EQ(rep.node_ids, (std::vector<std::uint64_t>{0, 1, 2, 3}));
    EXPECT_EQ(rep.data, mem.report_data[0]);
}

TEST_F(cli, h5py_reads_exactly_the_spikes_the_engine_emitted) {
    if (std::string(GLIA_PYTHON).empty() ||
        std::system((std::string(GLIA_PYTHON) + " -c 'import h5py' 2>/dev/null").c_str()) != 0) {
        GTEST_SKIP() << "no python3 with h5py";
    }
    const std::string out = path("small.h5");
    const std::string cfg = write("small.yaml", small_config(out));
    ASSERT_EQ(run_glia("run " + cfg).code, 0);
    const std::string script = write("read.py",
                                     "import h5py, sys\n"
                                     "f = h5py.File(sys.argv[1], 'r')\n"
                                     "for pop in ('exc', 'inh'):\n"
                                     "    g = f['spikes'][pop]\n"
                                     "    assert g['timestamps'].attrs['units'] == 'ms'\n"
                                     "    for t, i in zip(g['timestamps'][()], g['node_ids'][()]):\n"
                                     "        print(pop, repr(float(t)), int(i))\n");
    FILE* p = popen((std::string(GLIA_PYTHON) + " " + script + " " + out).c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::string text;
    char buf[4096];
    std::size_t n = 0;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) {
        text.append(buf, n);
    }
    ASSERT_EQ(pclose(p), 0);
    std::ostringstream expected;
    for (const char* pop: {"exc", "inh"}) {
        const auto s = glia::io::read_spikes(out, pop);
        for (std::size_t k = 0; k < s.timestamps.size(); ++k) {
            std::ostringstream t;
            t.precision(17);
            t << s.timestamps[k];
            expected << pop << " " << s.timestamps[k] << " " << s.node_ids[k] << "\n";
        }
    }
    // Compare counts and ids line by line; times compared through their repr above.
    std::istringstream got(text);
    std::istringstream want(expected.str());
    std::string pg, pw;
    double tg = 0, tw = 0;
    std::uint64_t ig = 0, iw = 0;
    std::size_t lines = 0;
    while (want >> pw >> tw >> iw) {
        ASSERT_TRUE(static_cast<bool>(got >> pg >> tg >> ig)) << "h5py printed fewer spikes";
        EXPECT_EQ(pg, pw);
        EXPECT_DOUBLE_EQ(tg, tw);
        EXPECT_EQ(ig, iw);
        ++lines;
    }
    EXPECT_FALSE(static_cast<bool>(got >> pg)) << "h5py printed more spikes";
    EXPECT_GT(lines, 100u);
}

TEST_F(cli, inspect_reports_status_counts_and_rates) {
    const std::string out = path("small.h5");
    ASSERT_EQ(run_glia("run " + write("small.yaml", small_config(out))).code, 0);
    const auto r = run_glia("inspect " + out);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_THAT(r.out, HasSubstr("complete"));
    EXPECT_THAT(r.out, HasSubstr("exc"));
    EXPECT_THAT(r.out, HasSubstr("iaf_psc_exp"));
    EXPECT_THAT(r.out, HasSubstr("seed:        7"));
}

TEST_F(cli, set_overrides_a_value_and_o_the_output) {
    const std::string cfg = write("small.yaml", small_config(path("unused.h5")));
    const std::string out = path("other.h5");
    const auto r = run_glia("run " + cfg + " -o " + out + " --set simulation.duration=50ms");
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_FALSE(fs::exists(path("unused.h5")));
    const auto info = glia::io::read_run_info(out);
    EXPECT_EQ(info.n_steps, 500);
    EXPECT_THAT(info.config, HasSubstr("50ms"));
}

TEST_F(cli, validate_accepts_the_shipped_configs) {
    for (const char* c: {"cuba", "coba", "brunel", "izhikevich2003", "polychronization",
                         "sparse_lif", "astrocyte_brunel", "nalsm_engine_demo",
                         "reservoir_izhikevich", "sweep_example", "nalsm1000_fashion",
                         "nalsm8000_fashion", "lsm_stdp_fashion", "lsm_static_fashion",
                         "nalsm1000_mnist10k", "nalsm_tiny", "nalsm_astro_demo",
                         "izhikevich_liquid_fashion", "nalsm_sweep_wA", "mc_izhikevich",
                         "narma10_izhikevich"}) {
        const auto r = run_glia(std::string("validate ") + GLIA_SOURCE_DIR + "/configs/" + c + ".yaml");
        EXPECT_EQ(r.code, 0) << c << ": " << r.out;
        EXPECT_THAT(r.out, HasSubstr("ok"));
    }
}

// Each class of user error: exit code 1, a message naming file:line:col and the key, what is
// allowed and what was given, and no output file.
struct bad_case {
    const char* name;
    std::string from, to;  // text replaced in small_config
    std::string message;   // expected in the output
};

class cli_errors: public cli, public testing::WithParamInterface<bad_case> {};

TEST_P(cli_errors, bad_file_gives_a_located_message_and_no_output) {
    const auto& c = GetParam();
    const std::string out = path("never.h5");
    std::string text = small_config(out);
    const auto at = text.find(c.from);
    ASSERT_NE(at, std::string::npos) << c.from;
    text.replace(at, c.from.size(), c.to);
    const std::string cfg = write("bad.yaml", text);
    const auto r = run_glia("run " + cfg);
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_THAT(r.out, HasSubstr(cfg + ":"));
    EXPECT_THAT(r.out, HasSubstr(c.message));
    EXPECT_FALSE(fs::exists(out)) << "a bad file left an output behind";
    const auto v = run_glia("validate " + cfg);
    EXPECT_EQ(v.code, 1);
    EXPECT_THAT(v.out, HasSubstr(c.message));
}

INSTANTIATE_TEST_SUITE_P(
    every_error_class, cli_errors,
    testing::Values(
        bad_case{"unknown_key", "  seed: 7\n", "  seed: 7\n  duraton: 5 ms\n",
                 "5:3: unknown key 'duraton' in 'simulation'; expected one of: dt, duration, seed"},
        bad_case{"wrong_type", "size: 80", "size: many",
                 "populations.exc.size must be"},
        bad_case{"missing_key", "    model: iaf_psc_exp\n    size: 80\n",
                 "    size: 80\n", "missing required key 'model'"},
        bad_case{"tau_m_not_positive", "tau_m: 20 ms", "tau_m: 0 ms",
                 "populations.exc.params.tau_m must be > 0"},
        bad_case{"wrong_unit", "tau_m: 20 ms", "tau_m: 20 mV",
                 "populations.exc.params.tau_m must be a time"},
        bad_case{"p_above_one", "p: 0.1", "p: 1.5", "projections.ee.p must be"},
        bad_case{"negative_delay", "delay: 1.5 ms", "delay: -1 ms", "must be > 0"},
        bad_case{"delay_below_dt", "delay: 1.5 ms", "delay: 0.05 ms",
                 "delay = 0.05 ms is below dt = 0.1 ms"},
        bad_case{"delay_off_grid", "delay: 1.5 ms", "delay: 1.55 ms",
                 "delay = 1.55 ms is not a multiple of dt = 0.1 ms"},
        bad_case{"nan", "weight: 30 pA", "weight: .nan", "must be a finite number"},
        bad_case{"unknown_population", "source: exc, target: exc", "source: exd, target: exc",
                 "no population 'exd'"},
        bad_case{"unknown_model", "model: iaf_psc_exp", "model: iaf_psc_expo",
                 "unknown model 'iaf_psc_expo'"},
        bad_case{"reset_above_threshold", "V_reset: -65 mV", "V_reset: -40 mV",
                 "V_reset (-40 mV) must be below V_th (-50 mV)"},
        bad_case{"unknown_report_variable", "variable: V_m", "variable: V_x",
                 "V_x"}),
    [](const testing::TestParamInfo<bad_case>& p) { return std::string(p.param.name); });

TEST_F(cli, unwritable_output_is_an_error_and_writes_nothing) {
    const std::string blocker = write("file_not_dir", "x");
    const std::string cfg = write("small.yaml", small_config(blocker + "/out.h5"));
    const auto r = run_glia("run " + cfg);
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_THAT(r.out, HasSubstr("cannot write output file"));
}

TEST_F(cli, missing_file_is_a_user_error) {
    const auto r = run_glia("run " + path("nothing.yaml"));
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.out, HasSubstr("nothing.yaml"));
}

TEST_F(cli, sigterm_stops_the_run_and_leaves_a_complete_readable_file) {
    const std::string out = path("long.h5");
    std::string text = small_config(out);
    text.replace(text.find("duration: 200 ms"), 16, "duration: 600 s");
    const std::string cfg = write("long.yaml", text);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        const int null_fd = open("/dev/null", O_WRONLY);
        dup2(null_fd, 1);
        dup2(null_fd, 2);
        execl(GLIA_EXECUTABLE, GLIA_EXECUTABLE, "run", cfg.c_str(), "--no-progress", nullptr);
        _exit(127);
    }
    // Wait until the run has started writing, then ask it to stop.
    for (int i = 0; i < 200 && !fs::exists(out); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 3);
    const auto info = glia::io::read_run_info(out);
    EXPECT_EQ(info.status, "interrupted");
    EXPECT_GT(info.steps_done, 0);
    EXPECT_LT(info.steps_done, info.n_steps);
    // Every spike up to the stop is in the file, and none after it.
    const auto s = glia::io::read_spikes(out, "exc");
    ASSERT_FALSE(s.timestamps.empty());
    EXPECT_LE(s.timestamps.back(), static_cast<double>(info.steps_done) * 0.1 + 1e-9);
    EXPECT_THAT(run_glia("inspect " + out).out, HasSubstr("interrupted"));
}
