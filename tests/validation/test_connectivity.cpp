// Connectivity rules: exact counts where the rule fixes them, a chi-square test of Bernoulli
// in-degrees, and the same synapses for any thread and partition count.

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>
#include <tuple>

#include <gtest/gtest.h>

#include <oneapi/tbb/task_arena.h>

#include "network/builder.hpp"
#include "spec_harness.hpp"
#include "stats_harness.hpp"

using namespace glia;
using rule = connectivity_spec::rule;

namespace {

struct edge {
    neuron_id source, target;
    std::uint32_t port;
    float weight;
    std::uint32_t delay;
};

// Every synapse of a built network, decoded from the partitions' stores.
std::vector<edge> edges_of(const experiment_spec& spec, int partitions = 1, int threads = 1) {
    oneapi::tbb::task_arena arena(threads);
    const network net = build_network(spec, test::builtin_models(), partitions, arena);
    std::vector<edge> out;
    for (const auto& p: net.partitions) {
        const auto& st = *p->synapses;
        for (std::size_t src = 0; src + 1 < st.row_segment.size(); ++src) {
            for (auto k = st.row_segment[src]; k < st.row_segment[src + 1]; ++k) {
                for (auto s = st.segment_begin[k]; s < st.segment_begin[k + 1]; ++s) {
                    for (const auto& b: p->blocks) {
                        const auto slot = st.target[s];
                        if (slot >= b.input_offset && slot < b.input_offset + b.count * b.n_ports) {
                            const auto off = slot - b.input_offset;
                            out.push_back(edge{static_cast<neuron_id>(src),
                                               static_cast<neuron_id>(b.first_gid + off / b.n_ports),
                                               static_cast<std::uint32_t>(off % b.n_ports),
                                               st.weight[s], st.segment_delay[k]});
                        }
                    }
                }
            }
        }
    }
    return out;
}

experiment_spec two_populations(std::size_t n_src, std::size_t n_tgt, std::uint64_t seed = 1) {
    auto e = test::experiment(0.1, 1.0, seed);
    e.populations.push_back(test::population("a", "iaf_psc_delta", n_src));
    e.populations.push_back(test::population("b", "iaf_psc_delta", n_tgt));
    return e;
}

projection_spec proj(const std::string& s, const std::string& t, rule r) {
    return test::projection("p", s, t, r, test::c(0.5), test::c(0.1));
}

std::map<neuron_id, std::size_t> indegree(const std::vector<edge>& es) {
    std::map<neuron_id, std::size_t> d;
    for (const auto& e: es) {
        ++d[e.target];
    }
    return d;
}

double binomial_pmf(int n, double p, int k) {
    return std::exp(std::lgamma(n + 1) - std::lgamma(k + 1) - std::lgamma(n - k + 1) +
                    k * std::log(p) + (n - k) * std::log1p(-p));
}

}  // namespace

TEST(connectivity, all_to_all_counts_with_and_without_autapses) {
    auto e = two_populations(7, 5);
    e.projections.push_back(proj("a", "b", rule::all_to_all));
    EXPECT_EQ(edges_of(e).size(), 35u);
    auto self = two_populations(7, 5);
    auto p = proj("a", "a", rule::all_to_all);
    p.connectivity.allow_autapses = false;
    self.projections.push_back(p);
    const auto es = edges_of(self);
    EXPECT_EQ(es.size(), 42u);
    for (const auto& x: es) {
        EXPECT_NE(x.source, x.target);
    }
}

TEST(connectivity, one_to_one_connects_equal_ids) {
    auto e = two_populations(6, 6);
    e.projections.push_back(proj("a", "b", rule::one_to_one));
    const auto es = edges_of(e, 4);
    ASSERT_EQ(es.size(), 6u);
    for (const auto& x: es) {
        EXPECT_EQ(x.target, x.source + 6);
    }
}

TEST(connectivity, fixed_indegree_is_exact_and_respects_switches) {
    auto e = two_populations(50, 40);
    auto p = proj("a", "a", rule::fixed_indegree);
    p.connectivity.n = 30;
    p.connectivity.allow_autapses = false;
    p.connectivity.allow_multapses = false;
    e.projections.push_back(p);
    const auto es = edges_of(e, 3);
    const auto d = indegree(es);
    ASSERT_EQ(d.size(), 50u);
    for (const auto& [t, n]: d) {
        EXPECT_EQ(n, 30u) << "target " << t;
    }
    std::set<std::pair<neuron_id, neuron_id>> pairs;
    for (const auto& x: es) {
        EXPECT_NE(x.source, x.target);
        EXPECT_TRUE(pairs.insert({x.source, x.target}).second) << "multapse " << x.source;
    }
}

TEST(connectivity, fixed_indegree_with_multapses_draws_with_replacement) {
    auto e = two_populations(5, 200);
    auto p = proj("a", "b", rule::fixed_indegree);
    p.connectivity.n = 5;
    e.projections.push_back(p);
    const auto es = edges_of(e);
    EXPECT_EQ(es.size(), 1000u);
    std::set<std::pair<neuron_id, neuron_id>> pairs;
    for (const auto& x: es) {
        pairs.insert({x.source, x.target});
    }
    // With replacement from 5 candidates, 5 draws repeat a source with probability
    // 1 - 5!/5^5 = 0.96 per target; without replacement there would be exactly 1000 pairs.
    EXPECT_LT(pairs.size(), 900u);
}

TEST(connectivity, fixed_outdegree_is_exact) {
    auto e = two_populations(30, 100);
    auto p = proj("a", "b", rule::fixed_outdegree);
    p.connectivity.n = 12;
    p.connectivity.allow_multapses = false;
    e.projections.push_back(p);
    std::map<neuron_id, std::size_t> out;
    std::set<std::pair<neuron_id, neuron_id>> pairs;
    for (const auto& x: edges_of(e, 5)) {
        ++out[x.source];
        EXPECT_TRUE(pairs.insert({x.source, x.target}).second);
        EXPECT_GE(x.target, 30u);
    }
    ASSERT_EQ(out.size(), 30u);
    for (const auto& [s, n]: out) {
        EXPECT_EQ(n, 12u);
    }
}

TEST(connectivity, fixed_total_number_is_exact) {
    auto e = two_populations(20, 20);
    auto p = proj("a", "a", rule::fixed_total_number);
    p.connectivity.n = 333;
    p.connectivity.allow_multapses = false;
    p.connectivity.allow_autapses = false;
    e.projections.push_back(p);
    const auto es = edges_of(e, 3);
    EXPECT_EQ(es.size(), 333u);
    std::set<std::pair<neuron_id, neuron_id>> pairs;
    for (const auto& x: es) {
        EXPECT_NE(x.source, x.target);
        EXPECT_TRUE(pairs.insert({x.source, x.target}).second);
    }
}

// NEST's test: for each of 20 seeds a chi-square test of the in-degree histogram against
// Binomial(n, p); then a Kolmogorov-Smirnov test that the 20 p-values are uniform.
TEST(connectivity, pairwise_bernoulli_indegrees_are_binomial) {
    const int n_src = 400, n_tgt = 400;
    const double p = 0.1;
    std::vector<double> p_values;
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
        auto e = two_populations(n_src, n_tgt, seed);
        auto pr = proj("a", "b", rule::pairwise_bernoulli);
        pr.connectivity.p = p;
        e.projections.push_back(pr);
        auto d = indegree(edges_of(e));
        // Bins: <= 28, 29..51 one per value, >= 52 (expected counts >= 5 in every bin).
        const int lo = 28, hi = 52;
        std::vector<double> observed(hi - lo + 1, 0), expected(hi - lo + 1, 0);
        for (neuron_id t = n_src; t < n_src + n_tgt; ++t) {
            const int k = static_cast<int>(d.count(t) ? d[t] : 0);
            observed[static_cast<std::size_t>(std::clamp(k, lo, hi) - lo)] += 1;
        }
        for (int k = 0; k <= n_src; ++k) {
            expected[static_cast<std::size_t>(std::clamp(k, lo, hi) - lo)] +=
                n_tgt * binomial_pmf(n_src, p, k);
        }
        double chi2 = 0;
        for (std::size_t b = 0; b < observed.size(); ++b) {
            chi2 += (observed[b] - expected[b]) * (observed[b] - expected[b]) / expected[b];
        }
        const double dof = static_cast<double>(observed.size() - 1);
        p_values.push_back(test::chi_square_p_value(chi2, dof));
    }
    std::sort(p_values.begin(), p_values.end());
    double ks = 0;
    for (std::size_t i = 0; i < p_values.size(); ++i) {
        const double n = static_cast<double>(p_values.size());
        const double fi = static_cast<double>(i);
        ks = std::max({ks, (fi + 1) / n - p_values[i], p_values[i] - fi / n});
    }
    EXPECT_LT(ks, 0.294);  // KS critical value for n = 20 at alpha = 0.05
}

TEST(connectivity, bernoulli_without_autapses_never_connects_a_neuron_to_itself) {
    auto e = two_populations(300, 1);
    auto p = proj("a", "a", rule::pairwise_bernoulli);
    p.connectivity.p = 0.5;
    p.connectivity.allow_autapses = false;
    e.projections.push_back(p);
    const auto es = edges_of(e);
    EXPECT_NEAR(static_cast<double>(es.size()), 0.5 * 300 * 299, 5 * std::sqrt(0.25 * 300 * 299));
    for (const auto& x: es) {
        EXPECT_NE(x.source, x.target);
    }
}

TEST(connectivity, synapses_do_not_depend_on_threads_or_partitions) {
    auto e = two_populations(300, 200, 77);
    auto p1 = proj("a", "b", rule::pairwise_bernoulli);
    p1.connectivity.p = 0.2;
    p1.weight = test::uniform(-1, 1);
    p1.delay = test::uniform(0.1, 3.0);
    e.projections.push_back(p1);
    auto p2 = proj("b", "a", rule::fixed_outdegree);
    p2.connectivity.n = 17;
    p2.weight = test::normal(1, 0.5, 0, 2);
    e.projections.push_back(p2);
    auto p3 = proj("a", "a", rule::fixed_indegree);
    p3.connectivity.n = 25;
    e.projections.push_back(p3);
    auto p4 = proj("b", "b", rule::fixed_total_number);
    p4.connectivity.n = 1000;
    e.projections.push_back(p4);

    const std::uint64_t reference = test::run(e, 1, 1).connectivity_hash;
    for (int threads: {1, 2, 4}) {
        for (int partitions: {1, 3, 8}) {
            EXPECT_EQ(test::run(e, threads, partitions).connectivity_hash, reference)
                << threads << " threads, " << partitions << " partitions";
        }
    }
    auto other_seed = e;
    other_seed.simulation.seed = 78;
    EXPECT_NE(test::run(other_seed).connectivity_hash, reference);
}

TEST(connectivity, weight_lists_follow_the_canonical_synapse_order) {
    auto e = two_populations(2, 3);
    auto p = proj("a", "b", rule::all_to_all);
    p.weight = test::list({1, 2, 3, 4, 5, 6});  // target-major: (t0: s0 s1), (t1: s0 s1), ...
    e.projections.push_back(p);
    std::map<std::pair<neuron_id, neuron_id>, float> w;
    for (const auto& x: edges_of(e, 2)) {
        w[{x.source, x.target}] = x.weight;
    }
    EXPECT_EQ(w[std::make_pair(0u, 2u)], 1.0f);
    EXPECT_EQ(w[std::make_pair(1u, 2u)], 2.0f);
    EXPECT_EQ(w[std::make_pair(0u, 3u)], 3.0f);
    EXPECT_EQ(w[std::make_pair(1u, 4u)], 6.0f);
}

TEST(connectivity, random_delays_are_rounded_onto_the_grid_within_bounds) {
    auto e = two_populations(100, 100);
    auto p = proj("a", "b", rule::all_to_all);
    p.delay = test::uniform(1.0, 2.0);
    e.projections.push_back(p);
    std::map<std::uint32_t, int> hist;
    for (const auto& x: edges_of(e)) {
        ++hist[x.delay];
    }
    EXPECT_EQ(hist.begin()->first, 10u);
    EXPECT_EQ(hist.rbegin()->first, 20u);
    EXPECT_EQ(hist.size(), 11u);
    // Interior steps get a full bin of width dt, the two edge steps half of one (NEST's
    // documented rounding effect): 10000 / 10 = 1000 expected per interior step.
    EXPECT_NEAR(hist[15], 1000, 5 * std::sqrt(1000.0));
    EXPECT_NEAR(hist[10], 500, 5 * std::sqrt(500.0));
}

TEST(connectivity, sign_of_the_weight_selects_the_port_for_by_sign_models) {
    auto e = test::experiment(0.1, 1.0);
    e.populations.push_back(test::population("a", "iaf_psc_delta", 20));
    e.populations.push_back(test::population("b", "iaf_psc_exp", 20));
    auto p = proj("a", "b", rule::all_to_all);
    p.weight = test::uniform(-1, 1);
    e.projections.push_back(p);
    int negative = 0;
    for (const auto& x: edges_of(e)) {
        EXPECT_EQ(x.port, x.weight < 0 ? 1u : 0u);
        negative += x.weight < 0;
    }
    EXPECT_GT(negative, 100);
}
