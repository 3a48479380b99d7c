// Bug (hostile-input testing): `glia validate` on a population of 1e9 neurons built per-neuron
// arrays for minutes and GBs, and one at the largest size allowed (4294967295) ended in
// "internal error: std::bad_alloc"; `glia sweep --list` of a grid with such a size did the same
// for its point. Now the network's memory is estimated from the spec (neurons, expected
// synapses of the rules, protocol features) before anything is built, and a network that does
// not fit the available memory (MemAvailable, ulimit -v or GLIA_MEMORY_LIMIT) is refused with
// the estimate and the location of its largest part.

#include <chrono>
#include <filesystem>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli_harness.hpp"

namespace {

using testing::HasSubstr;
using testing::Not;

class validate_of_a_huge_network_ran_out_of_memory: public glia::test::scratch_test {
protected:
    validate_of_a_huge_network_ran_out_of_memory(): scratch_test("regression") {}

    std::string one_population(const std::string& size) {
        return write("big.yaml", "simulation: {dt: 0.1 ms, duration: 10 ms}\n"
                                 "populations:\n"
                                 "  big: {model: iaf_psc_delta, size: " +
                                     size +
                                     ", initial: {V_m: {uniform: {low: -65 mV, high: -55 mV}}}}\n"
                                     "output: {file: " +
                                     path("big.h5") + "}\n");
    }
};

TEST_F(validate_of_a_huge_network_ran_out_of_memory, the_largest_size_is_refused_by_the_estimate) {
    const std::string cfg = one_population("4294967295");
    for (const std::string& command: {"validate " + cfg, "run --no-progress " + cfg}) {
        const auto t0 = std::chrono::steady_clock::now();
        // ulimit -v: an allocation of the old per-neuron arrays fails at once instead of
        // taking the machine's memory.
        const auto r = glia::test::run_shell("ulimit -v 4000000; " +
                                             std::string(GLIA_EXECUTABLE) + " " + command);
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        EXPECT_EQ(r.code, 1) << r.out;
        EXPECT_LT(seconds, 5.0);
        EXPECT_THAT(r.out, Not(HasSubstr("internal error")));
        EXPECT_THAT(r.out, HasSubstr(cfg + ":3:8: the network needs about "));
        EXPECT_THAT(r.out, HasSubstr("4294967295 neurons"));
        EXPECT_THAT(r.out, HasSubstr("available (the address-space limit (ulimit -v))"));
        EXPECT_THAT(r.out, HasSubstr("the largest part is populations.big: 4294967295 neurons x "));
    }
    EXPECT_FALSE(std::filesystem::exists(path("big.h5")));
}

TEST_F(validate_of_a_huge_network_ran_out_of_memory, the_limit_comes_from_glia_memory_limit) {
    const std::string cuba = std::string(GLIA_SOURCE_DIR) + "/configs/cuba.yaml";
    const auto refused = glia::test::run_shell("GLIA_MEMORY_LIMIT=1M " +
                                               std::string(GLIA_EXECUTABLE) + " validate " + cuba);
    EXPECT_EQ(refused.code, 1) << refused.out;
    EXPECT_THAT(refused.out, HasSubstr("available (GLIA_MEMORY_LIMIT)"));
    EXPECT_THAT(refused.out, HasSubstr("3.2e+05 synapses"));  // 4000^2 x 0.02, expected
    const auto allowed = glia::test::run_shell("GLIA_MEMORY_LIMIT=2G " +
                                               std::string(GLIA_EXECUTABLE) + " validate " + cuba);
    EXPECT_EQ(allowed.code, 0) << allowed.out;
    const auto bad = glia::test::run_shell("GLIA_MEMORY_LIMIT=lots " +
                                           std::string(GLIA_EXECUTABLE) + " validate " + cuba);
    EXPECT_EQ(bad.code, 1) << bad.out;
    EXPECT_THAT(bad.out, HasSubstr("GLIA_MEMORY_LIMIT must be a size in bytes"));
}

TEST_F(validate_of_a_huge_network_ran_out_of_memory, a_sweep_point_of_1e9_neurons_is_refused) {
    const std::string cfg =
        write("sweep.yaml", "simulation: {dt: 0.1 ms, duration: 10 ms}\n"
                            "populations:\n"
                            "  p: {model: iaf_psc_delta, size: 100,\n"
                            "      initial: {V_m: {uniform: {low: -65 mV, high: -55 mV}}}}\n"
                            "projections:\n"
                            "  pp: {source: p, target: p, rule: fixed_indegree, indegree: 10,\n"
                            "       weight: 1 mV, delay: 1 ms}\n"
                            "output: {file: " +
                                path("s.h5") +
                                "}\n"
                                "sweep:\n"
                                "  name: huge\n"
                                "  grid:\n"
                                "    populations.p.size: [100, 1000000000]\n");
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = glia::test::run_shell("ulimit -v 4000000; " + std::string(GLIA_EXECUTABLE) +
                                         " sweep --list " + cfg);
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0);
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_THAT(r.out, Not(HasSubstr("internal error")));
    EXPECT_THAT(r.out, HasSubstr("the network needs about "));
    EXPECT_THAT(r.out, HasSubstr("1e+10 synapses"));
}

TEST_F(validate_of_a_huge_network_ran_out_of_memory, a_nalsm_liquid_of_a_million_is_refused) {
    // 70,000 samples x 10^6 spike-count features do not fit in memory: refused before the
    // hours-long build of the liquid's distance-rule synapses.
    const std::string nalsm = std::string(GLIA_SOURCE_DIR) + "/configs/nalsm1000_fashion.yaml";
    const auto r = glia::test::run_glia(
        "validate " + nalsm +
        " --set grids.liquid.shape=[100,100,100] --set populations.E.size=800000"
        " --set populations.I.size=200000");
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_THAT(r.out, HasSubstr("the largest part is protocol: features of 70000 samples x "
                                 "1000000 values x 4 bytes"));
}

}  // namespace
