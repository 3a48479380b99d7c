// Plastic networks end to end: configs/polychronization.yaml (Izhikevich 2006) through the glia
// executable, with its weight snapshots read back from /weights.

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <numeric>
#include <string>

#include <gtest/gtest.h>

#include "io/hdf5_reader.hpp"

namespace fs = std::filesystem;

namespace {

int run_glia(const std::string& args) {
    const std::string cmd = std::string(GLIA_EXECUTABLE) + " " + args + " > /dev/null 2>&1";
    const int status = std::system(cmd.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string temp_file(const std::string& name) {
    const fs::path dir = fs::temp_directory_path() / ("glia_plasticity_" + std::to_string(getpid()));
    fs::create_directories(dir);
    return (dir / name).string();
}

const std::string config = std::string(GLIA_SOURCE_DIR) + "/configs/polychronization.yaml";

// The last snapshot of both plastic projections, and the excitatory spike times.
struct poly_result {
    std::vector<float> first, last;  // weights of exc_exc and exc_inh together
    std::size_t n_snapshots = 0;
    std::vector<double> exc_times;
};

poly_result read_poly(const std::string& out) {
    poly_result r;
    for (const char* proj: {"exc_exc", "exc_inh"}) {
        const auto w = glia::io::read_weights(out, proj);
        const std::size_t n = w.source.size();
        r.n_snapshots = w.time.size();
        r.first.insert(r.first.end(), w.weight.begin(), w.weight.begin() + static_cast<long>(n));
        r.last.insert(r.last.end(), w.weight.end() - static_cast<long>(n), w.weight.end());
    }
    r.exc_times = glia::io::read_spikes(out, "exc").timestamps;
    return r;
}

}  // namespace

// Izhikevich (2006): STDP with the once-per-second update drives the excitatory weights to the
// bounds (0 and 10) while the network fires at a few Hz. Measured with this config after 60 s:
// the 1 mV bins at the bounds are the two largest (9% and 41%), and 60% of the
// weights lie within 2 mV of a bound (the share keeps growing: about 70% at 100 s); the
// excitatory rate is 1.4 to 4.7 Hz per second; a NumPy transcription of spnet.cpp with the same
// structure (tools/bench/spnet_reference.py) gives the same trajectory.
TEST(polychronization, excitatory_weights_become_bimodal_at_a_low_rate) {
    const std::string out = temp_file("poly60.h5");
    ASSERT_EQ(run_glia("run " + config + " -o " + out + " --threads 2 --no-progress"), 0);
    const auto r = read_poly(out);
    EXPECT_EQ(r.n_snapshots, 61u);  // 0, 1, ..., 60 s
    for (float w: r.first) {
        ASSERT_EQ(w, 6.0f);  // the initial weight
    }
    std::vector<double> hist(10, 0);
    for (float w: r.last) {
        ASSERT_GE(w, 0.0f);
        ASSERT_LE(w, 10.0f);
        hist[std::min<std::size_t>(9, static_cast<std::size_t>(w))] += 1.0 / static_cast<double>(r.last.size());
    }
    for (std::size_t b = 1; b < 9; ++b) {
        EXPECT_GT(hist[0], hist[b]) << "bin " << b;
        EXPECT_GT(hist[9], hist[b]) << "bin " << b;
    }
    EXPECT_GT(hist[0] + hist[1] + hist[8] + hist[9], 0.5)
        << "most weights should lie within 2 mV of a bound";
    const double rate = static_cast<double>(r.exc_times.size()) / 800.0 / 60.0;
    EXPECT_GT(rate, 1.0);
    EXPECT_LT(rate, 8.0);
    fs::remove(out);
}

TEST(polychronization, spikes_and_weights_do_not_depend_on_threads_or_partitions) {
    const std::string a = temp_file("poly_a.h5");
    const std::string b = temp_file("poly_b.h5");
    const std::string common = " --no-progress --set simulation.duration=20s";
    ASSERT_EQ(run_glia("run " + config + " -o " + a + " --threads 1 --partitions 1" + common), 0);
    ASSERT_EQ(run_glia("run " + config + " -o " + b + " --threads 2 --partitions 3" + common), 0);
    const auto ra = read_poly(a);
    const auto rb = read_poly(b);
    ASSERT_GT(ra.exc_times.size(), 1000u);
    EXPECT_EQ(ra.exc_times, rb.exc_times);
    EXPECT_EQ(ra.last, rb.last);
    EXPECT_NE(ra.last, ra.first) << "the weights must have changed";
    fs::remove(a);
    fs::remove(b);
}

TEST(polychronization, weight_snapshots_describe_the_synapses) {
    const std::string out = temp_file("poly_w.h5");
    ASSERT_EQ(run_glia("run " + config + " -o " + out + " --no-progress --set simulation.duration=3s"),
              0);
    const auto w = glia::io::read_weights(out, "exc_exc");
    EXPECT_EQ(w.time, (std::vector<double>{0, 1000, 2000, 3000}));
    EXPECT_EQ(w.units, "mV");  // the unit of the target port (izhikevich: voltage)
    std::map<std::uint64_t, int> outdegree;
    for (std::size_t i = 0; i < w.source.size(); ++i) {
        ++outdegree[w.source[i]];
        EXPECT_NE(w.source[i], w.target[i]) << "no autapses in this config";
        EXPECT_GE(w.delay[i], 1.0);
        EXPECT_LE(w.delay[i], 20.0);
    }
    EXPECT_EQ(outdegree.size(), 800u);
    for (const auto& [s, n]: outdegree) {
        EXPECT_EQ(n, 80) << "source " << s;
    }
    // Sorted by (source, target, delay).
    for (std::size_t i = 1; i < w.source.size(); ++i) {
        EXPECT_TRUE(std::tie(w.source[i - 1], w.target[i - 1]) <= std::tie(w.source[i], w.target[i]));
    }
    fs::remove(out);
}
