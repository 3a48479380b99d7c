// Astrocytes end to end: configs/astrocyte_brunel.yaml through the glia executable
// (validated as shipped, run scaled down), astrocyte reports under /astrocytes, and the
// messages a user gets for astrocyte mistakes in a YAML file.

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <glia/error.hpp>

#include "cli_harness.hpp"
#include "io/hdf5_reader.hpp"

#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;
using testing::HasSubstr;

namespace {

using glia::test::cli_result;
using glia::test::run_glia;

class astrocyte_cli: public glia::test::scratch_test {
protected:
    astrocyte_cli(): scratch_test("astro_cli") {}
};

const std::string brunel = std::string(GLIA_SOURCE_DIR) + "/configs/astrocyte_brunel.yaml";

// A small neuron-astrocyte network; `projection` is the E -> E projection's YAML body.
std::string small_config(const std::string& projection, const std::string& extra = "") {
    return "simulation: {dt: 0.1 ms, duration: 20 ms}\n"
           "populations:\n"
           "  exc: {model: iaf_psc_exp, size: 20}\n"
           "  astro: {model: astrocyte_lr_1994, size: 10}\n"
           "projections:\n"
           "  ee: " +
           projection + "\n" + extra;
}

}  // namespace

TEST_F(astrocyte_cli, the_brunel_config_validates_as_shipped) {
    const auto r = run_glia("validate " + brunel);
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_THAT(r.out, HasSubstr("ok (3 populations, 20000 neurons, 4 projections"));
}

// The shipped network at 1/10 of its size for 100 ms: it runs, writes the neurons' spikes
// and the astrocytes' IP3 and Ca under /astrocytes/astro/<variable>, and the astrocytes,
// which start at IP3 = 0.4 uM, move.
TEST_F(astrocyte_cli, the_brunel_config_runs_scaled_down) {
    const std::string out = path("brunel.h5");
    const auto r = run_glia("run " + brunel + " -o " + out +
                           " --set simulation.duration=100ms --set populations.exc.size=800"
                           " --set populations.inh.size=200 --set populations.astro.size=1000");
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_THAT(r.out, HasSubstr("graded coupling: 1000 sources (astrocytes)"));
    const auto info = glia::io::read_run_info(out);
    EXPECT_EQ(info.status, "complete");
    ASSERT_EQ(info.reports.size(), 2u);
    EXPECT_EQ(info.reports[0].path, "/astrocytes/astro/IP3");
    EXPECT_EQ(info.reports[1].path, "/astrocytes/astro/Ca_astro");
    for (const auto& rep: info.reports) {
        EXPECT_EQ(rep.file, "brunel.h5") << "every astrocyte variable fits in the main file";
    }
    const auto ip3 = glia::io::read_report_at(out, "/astrocytes/astro/IP3");
    const auto ca = glia::io::read_report_at(out, "/astrocytes/astro/Ca_astro");
    EXPECT_EQ(ip3.n_frames, 100u);
    EXPECT_EQ(ip3.node_ids.size(), 50u);
    EXPECT_EQ(ip3.units, "uM");
    EXPECT_EQ(ca.variable, "Ca_astro");
    EXPECT_FLOAT_EQ(ip3.data[0], 0.4f);
    EXPECT_FLOAT_EQ(ca.data[0], 0.073f);
    EXPECT_GT(ca.data[ca.data.size() - 1], 0.073f) << "Ca rises from its initial value";
    EXPECT_NO_THROW(glia::io::read_spikes(out, "exc"));
    EXPECT_THROW(glia::io::read_spikes(out, "astro"), glia::error) << "astrocytes never spike";
    const auto inspect = run_glia("inspect " + out);
    EXPECT_EQ(inspect.code, 0) << inspect.out;
    EXPECT_THAT(inspect.out, HasSubstr("astro.Ca_astro  astro       Ca_astro  uM    100"));
}

TEST_F(astrocyte_cli, astrocyte_mistakes_are_located) {
    struct bad {
        std::string config, message;
    };
    const std::vector<bad> cases = {
        {small_config("{source: exc, target: astro, rule: all_to_all, weight: -1}"),
         "bad.yaml:6:62: projections.ee.weight: port ip3 of model astrocyte_lr_1994 takes only "
         "weights >= 0, got -1"},
        {small_config("{source: exc, target: exc, rule: all_to_all, weight: 1 pA,\n"
                      "       tripartite: {astrocytes: astro, third_in: {weight: -2}}}"),
         "bad.yaml:7:59: projections.ee.tripartite.third_in.weight: port ip3 of model "
         "astrocyte_lr_1994 takes only weights >= 0, got -2"},
        {small_config("{source: exc, target: exc, rule: all_to_all, weight: 1 pA,\n"
                      "       tripartite: {astrocytes: astro, pool: 3}}"),
         "bad.yaml:7:40: unknown key 'pool' in 'projections.ee.tripartite'; expected one of: "
         "astrocytes, p, pool_type, pool_size, third_in, third_out"},
        {small_config("{source: exc, target: exc, rule: all_to_all, weight: 1 pA,\n"
                      "       tripartite: {astrocytes: astro, pool_type: block, pool_size: 3}}"),
         "bad.yaml:7:20: projections.ee.tripartite: block pools with pool_size 3 > 1 need "
         "(target size) x pool_size == (astrocyte population size): 20 x 3 = 60, but 'astro' "
         "has 10 astrocytes (or use pool_type: random)"},
        {small_config("{source: exc, target: exc, rule: all_to_all, weight: 1 pA,\n"
                      "       tripartite: {astrocytes: astro, pool_size: 11}}"),
         "bad.yaml:7:51: projections.ee.tripartite.pool_size must be an integer in [1, 10], "
         "got '11'"},
        {small_config("{source: astro, target: exc, rule: all_to_all, weight: 1 pA}"),
         "bad.yaml:6:16: projections.ee.source: population 'astro' (model astrocyte_lr_1994) "
         "emits no spikes; its output reaches neurons through synapse: sic"},
        {small_config("{source: astro, target: exc, rule: all_to_all, synapse: sic, "
                      "receptor: ex}"),
         "bad.yaml:6:68: projections.ee.receptor: sic connections have no receptor (the target "
         "receives current)"},
        {small_config("{source: astro, target: exc, rule: all_to_all, synapse: sic, weight: 2 pA}"),
         "bad.yaml:6:76: projections.ee.weight must be a plain number, got '2 pA'"},
        {small_config("{source: astro, target: exc, rule: all_to_all, synapse: sic}",
                      "record: {spikes: [exc, astro]}\n"),
         "bad.yaml:7:24: record.spikes[1]: population 'astro' (model astrocyte_lr_1994) emits "
         "no spikes; record its state with a report"},
    };
    for (const auto& c: cases) {
        const auto r = run_glia("validate " + write("bad.yaml", c.config));
        EXPECT_EQ(r.code, 1) << c.config;
        EXPECT_THAT(r.out, HasSubstr(c.message)) << c.config;
    }
    // And a correct one: sic with the default weight 1, spikes: all skips astrocytes.
    const auto ok = run_glia(
        "validate " +
        write("ok.yaml", small_config("{source: astro, target: exc, rule: all_to_all, synapse: "
                                      "sic, delay: 1 ms}")));
    EXPECT_EQ(ok.code, 0) << ok.out;
}

// NALSM's astrocyte in a network run (docs/models/nalsm_astrocyte.md): configs/
// nalsm_engine_demo.yaml writes A(t) to /astrocytes/astro/A, one value per step from A(0),
// the same for any thread and partition count; A rises while the step current drives E.
TEST_F(astrocyte_cli, nalsm_engine_demo_writes_the_astrocyte_level) {
    if (std::string(GLIA_PYTHON).empty() ||
        std::system((std::string(GLIA_PYTHON) + " -c 'import h5py' 2>/dev/null").c_str()) != 0) {
        GTEST_SKIP() << "no python3 with h5py";
    }
    const std::string demo = std::string(GLIA_SOURCE_DIR) + "/configs/nalsm_engine_demo.yaml";
    const std::string a = path("a.h5");
    const std::string b = path("b.h5");
    ASSERT_EQ(run_glia("run " + demo + " -o " + a + " --threads 1 --partitions 1").code, 0);
    ASSERT_EQ(run_glia("run " + demo + " -o " + b + " --threads 2 --partitions 3").code, 0);
    const std::string script =
        write("read.py",
              "import h5py, sys\n"
              "A = [h5py.File(p, 'r')['astrocytes/astro/A'][()] for p in sys.argv[1:3]]\n"
              "g = h5py.File(sys.argv[1], 'r')['astrocytes/astro']\n"
              "print(len(A[0]), repr(float(A[0][0])), float(g.attrs['dt']),\n"
              "      'same' if (A[0] == A[1]).all() else 'differ',\n"
              "      'rises' if A[0][600:1000].mean() > A[0][300:500].mean() + 0.02 else 'flat')\n");
    FILE* p = popen((std::string(GLIA_PYTHON) + " " + script + " " + a + " " + b).c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::string text;
    char buf[4096];
    std::size_t n = 0;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) {
        text.append(buf, n);
    }
    ASSERT_EQ(pclose(p), 0) << text;
    EXPECT_EQ(text, "1501 0.15 1.0 same rises\n");
}
