// Bug (hostile-input testing): duplicate mapping keys were refused in the network sections, but
// a sweep block with a key twice passed `glia validate`, a distribution given twice was
// reported as "a map with 2 keys", and no message said where the first one was. Every document
// glia reads (experiment and sweep files, protocol, readout and dataset blocks, --set values)
// is now checked once when it is read, and the message gives both locations.

#include <fstream>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "regression_harness.hpp"

namespace {

using testing::HasSubstr;

class duplicate_keys_outside_the_network_were_accepted: public glia::test::scratch_test {
protected:
    duplicate_keys_outside_the_network_were_accepted(): scratch_test("regression") {}

    // configs/<name> with `from` replaced by `to`, written to the scratch directory.
    std::string edited(const std::string& name, const std::string& from, const std::string& to) {
        std::ifstream in(std::string(GLIA_SOURCE_DIR) + "/configs/" + name);
        std::stringstream text;
        text << in.rdbuf();
        std::string s = text.str();
        const auto at = s.find(from);
        EXPECT_NE(at, std::string::npos) << from;
        if (at != std::string::npos) {
            s.replace(at, from.size(), to);
        }
        return write(name, s);
    }
};

TEST_F(duplicate_keys_outside_the_network_were_accepted, a_sweep_block_key_given_twice) {
    const std::string cfg =
        edited("sweep_example.yaml", "    projections.exc_exc.p: [0.02, 0.01]\n",
               "    projections.exc_exc.p: [0.02, 0.01]\n    projections.exc_exc.p: [0.03]\n");
    for (const std::string& args: {"validate " + cfg, "sweep " + cfg + " --list"}) {
        const auto r = glia::test::run_glia(args);
        EXPECT_EQ(r.code, 1) << r.out;
        EXPECT_THAT(r.out, HasSubstr(cfg + ":56:5: duplicate key 'projections.exc_exc.p' in "
                                           "'sweep.grid' (first at line 55, column 5)"));
    }
}

TEST_F(duplicate_keys_outside_the_network_were_accepted, protocol_readout_and_dataset_blocks) {
    const std::string readout = edited("nalsm_tiny.yaml", "  ridge: {lambdas: [1, 10, 100, 1000]}",
                                       "  ridge: {lambdas: [1, 10, 100, 1000], lambdas: [1]}");
    const auto r = glia::test::run_glia("validate " + readout);
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_THAT(r.out, HasSubstr(readout + ":70:40: duplicate key 'lambdas' in 'readout.ridge' "
                                           "(first at line 70, column 11)"));

    const std::string dataset = edited("nalsm_tiny.yaml", "    format: idx_official\n",
                                       "    format: idx_official\n    format: idx_gz\n");
    const auto d = glia::test::run_glia("validate " + dataset);
    EXPECT_EQ(d.code, 1) << d.out;
    EXPECT_THAT(d.out, HasSubstr(dataset + ":50:5: duplicate key 'format' in "
                                           "'protocol.dataset' (first at line 49, column 5)"));

    const std::string tiny = std::string(GLIA_SOURCE_DIR) + "/configs/nalsm_tiny.yaml";
    const auto s = glia::test::run_glia("validate " + tiny +
                                        " --set 'protocol.dataset.limit={train: 600, "
                                        "train: 500}'");
    EXPECT_EQ(s.code, 1) << s.out;
    EXPECT_THAT(s.out, HasSubstr("--set protocol.dataset.limit={train: 600, train: 500}: "
                                 "duplicate key 'train' in 'protocol.dataset.limit' (first at "
                                 "line 1, column 2)"));
}

TEST_F(duplicate_keys_outside_the_network_were_accepted, a_distribution_given_twice) {
    const std::string cuba = std::string(GLIA_SOURCE_DIR) + "/configs/cuba.yaml";
    const auto r = glia::test::run_glia(
        "validate " + cuba +
        " --set 'projections.exc_exc.weight={uniform: {low: 1 pA, high: 2 pA}, uniform: {low: 1 "
        "pA, high: 3 pA}}'");
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_THAT(r.out, HasSubstr("duplicate key 'uniform' in 'projections.exc_exc.weight' (first "
                                 "at line 1, column 2)"));
}

}  // namespace
