// Positions and distance-dependent connectivity (the NALSM liquid as engine parts,
// science-spec §1.1): grid points taken in consecutive ranges, the random order a permutation
// that depends on the seed alone; the rule `distance` against its formula (chi-square over
// classes of pairs, totals against their expectation) on lattices and arbitrary positions;
// fixed_total_number with density and groups; all of it the same for any partition count.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <oneapi/tbb/task_arena.h>

#include <glia/error.hpp>
#include <glia/rng.hpp>

#include "network/builder.hpp"
#include "network/positions.hpp"
#include "spec_harness.hpp"
#include "stats_harness.hpp"

using namespace glia;
using rule = connectivity_spec::rule;

namespace {

network built(const experiment_spec& e, int partitions = 1, int threads = 1) {
    oneapi::tbb::task_arena arena(threads);
    return build_network(e, test::builtin_models(), partitions, arena);
}

std::vector<synapse_weight> synapses_of(const experiment_spec& e, int threads = 1,
                                        int partitions = 1) {
    simulation sim(e, test::builtin_models(), test::quiet_context(threads, partitions));
    return sim.static_synapses();
}

grid_spec grid(std::string name, std::uint64_t d1, std::uint64_t d2, std::uint64_t d3, bool random,
               double spacing = 1.0) {
    grid_spec g;
    g.name = std::move(name);
    g.shape = {d1, d2, d3};
    g.random = random;
    g.spacing = spacing;
    return g;
}

population_spec on_grid(std::string name, std::size_t size, std::string grid_name) {
    auto p = test::population(std::move(name), "iaf_psc_delta", size);
    p.grid = std::move(grid_name);
    return p;
}

projection_spec distance(std::string name, std::string s, std::string t, double C, double lambda,
                         bool autapses = true) {
    auto p = test::projection(std::move(name), std::move(s), std::move(t), rule::distance,
                              test::c(0.5), test::c(0.1));
    p.connectivity.C = C;
    p.connectivity.lambda = lambda;
    p.connectivity.allow_autapses = autapses;
    return p;
}

projection_spec total(std::string name, std::string s, std::string t, std::string group) {
    auto p = test::projection(std::move(name), std::move(s), std::move(t), rule::fixed_total_number,
                              test::c(0.5), test::c(0.1));
    p.connectivity.group = std::move(group);
    p.connectivity.allow_multapses = false;
    return p;
}

double squared_distance(const position& a, const position& b) {
    return (a.x - b.x) * (a.x - b.x) + (a.y - b.y) * (a.y - b.y) + (a.z - b.z) * (a.z - b.z);
}

// Connections of a class of pairs: observed, and expected under independent Bernoulli trials
// (mean sum p, variance sum p (1 - p)).
struct tally {
    double observed = 0, expected = 0, variance = 0;
};

// Chi-square test of classes of pairs: sum over bins of (O - E)^2 / V, bins with E < 5 merged
// (in key order) into one; independent Poisson-binomial counts, so chi-square with one degree
// of freedom per bin. Returns the p-value.
template <typename Key>
double class_p_value(const std::map<Key, tally>& classes, int* bins_out = nullptr) {
    std::vector<tally> bins;
    tally rest;
    for (const auto& [key, t]: classes) {
        if (t.expected >= 5) {
            bins.push_back(t);
        } else {
            rest.observed += t.observed;
            rest.expected += t.expected;
            rest.variance += t.variance;
        }
    }
    if (rest.variance > 0) {
        bins.push_back(rest);
    }
    double chi2 = 0;
    for (const tally& b: bins) {
        chi2 += (b.observed - b.expected) * (b.observed - b.expected) / b.variance;
    }
    if (bins_out != nullptr) {
        *bins_out = static_cast<int>(bins.size());
    }
    return test::chi_square_p_value(chi2, static_cast<double>(bins.size()));
}

tally sum(const std::map<long, tally>& classes) {
    tally s;
    for (const auto& [key, t]: classes) {
        s.observed += t.observed;
        s.expected += t.expected;
        s.variance += t.variance;
    }
    return s;
}

// The rule's classes for projection `proj` of a built network: key(D^2) per pair, every pair
// with its probability, and the observed synapses of that projection (told apart by the
// source and target populations, which are unique per projection in these tests).
template <typename KeyOf>
std::map<long, tally> classes_of(const network& net, const std::vector<synapse_weight>& syn,
                                 const projection_spec& proj, KeyOf key_of) {
    const population_rt* src = nullptr;
    const population_rt* tgt = nullptr;
    for (const auto& p: net.populations) {
        src = p.name == proj.source ? &p : src;
        tgt = p.name == proj.target ? &p : tgt;
    }
    const auto& c = proj.connectivity;
    const bool same = src == tgt;
    std::map<long, tally> classes;
    for (std::size_t t = 0; t < tgt->size; ++t) {
        for (std::size_t s = 0; s < src->size; ++s) {
            if (same && s == t && !c.allow_autapses) {
                continue;
            }
            const double d2 = squared_distance(src->positions[s], tgt->positions[t]);
            const double p = c.C * std::exp(-d2 / (c.lambda * c.lambda));
            tally& k = classes[key_of(d2)];
            k.expected += p;
            k.variance += p * (1 - p);
        }
    }
    for (const auto& x: syn) {
        if (x.source >= src->first_gid && x.source < src->first_gid + src->size &&
            x.target >= tgt->first_gid && x.target < tgt->first_gid + tgt->size) {
            const double d2 = squared_distance(src->positions[x.source - src->first_gid],
                                               tgt->positions[x.target - tgt->first_gid]);
            classes[key_of(d2)].observed += 1;
        }
    }
    return classes;
}

long lattice_class(double d2) {
    return std::lround(d2);
}

// A liquid: E and I sharing one randomly ordered grid, the four distance projections with
// NALSM's C (science-spec §1.1), and `input` projected onto E and I by one group.
experiment_spec liquid(std::uint64_t d, std::size_t n_exc, std::size_t n_inh, std::uint64_t seed) {
    auto e = test::experiment(0.1, 1.0, seed);
    e.grids.push_back(grid("liquid", d, d, d, true));
    e.populations.push_back(on_grid("E", n_exc, "liquid"));
    e.populations.push_back(on_grid("I", n_inh, "liquid"));
    e.populations.push_back(test::population("input", "iaf_psc_delta", 50));
    e.projections.push_back(distance("EE", "E", "E", 0.2, 3.0, false));
    e.projections.push_back(distance("EI", "E", "I", 0.1, 3.0));
    e.projections.push_back(distance("IE", "I", "E", 0.3, 3.0));
    e.projections.push_back(distance("II", "I", "I", 0.05, 3.0, false));
    for (const char* t: {"E", "I"}) {
        auto p = total(std::string("in") + t, "input", t, "in");
        p.connectivity.density = 0.15;
        p.weight = test::uniform(-1, 1);
        e.projections.push_back(p);
    }
    return e;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Positions

TEST(positions, populations_on_a_shared_grid_take_consecutive_ranges) {
    auto e = test::experiment(0.1, 1.0);
    e.grids.push_back(grid("g", 4, 3, 2, false, 2.5));
    e.populations.push_back(on_grid("a", 10, "g"));
    e.populations.push_back(test::population("none", "iaf_psc_delta", 3));
    e.populations.push_back(on_grid("b", 14, "g"));
    const network net = built(e);
    auto expected = [](std::uint64_t q) {  // q = (i d2 + j) d3 + k at (i, j, k) * spacing
        return position{static_cast<double>(q / 6) * 2.5, static_cast<double>((q / 2) % 3) * 2.5,
                        static_cast<double>(q % 2) * 2.5};
    };
    const auto& a = net.populations[0].positions;
    const auto& b = net.populations[2].positions;
    ASSERT_EQ(a.size(), 10U);
    ASSERT_EQ(b.size(), 14U);
    EXPECT_TRUE(net.populations[1].positions.empty());
    for (std::uint64_t k = 0; k < 10; ++k) {
        EXPECT_EQ(squared_distance(a[k], expected(k)), 0.0) << "a " << k;
    }
    for (std::uint64_t k = 0; k < 14; ++k) {
        EXPECT_EQ(squared_distance(b[k], expected(10 + k)), 0.0) << "b " << k;
    }
    EXPECT_EQ(b[13].x, 7.5);  // the last point (3, 2, 1)
    EXPECT_EQ(b[13].y, 5.0);
    EXPECT_EQ(b[13].z, 2.5);
}

TEST(positions, random_order_is_a_permutation_that_depends_only_on_the_seed) {
    const auto e = liquid(10, 800, 200, 5);
    const network one = built(e, 1);
    const network three = built(e, 3, 2);
    std::set<std::tuple<double, double, double>> points;
    std::size_t in_lattice_order = 0;
    for (std::size_t p = 0; p < 2; ++p) {
        const auto& pos = one.populations[p].positions;
        ASSERT_EQ(pos.size(), p == 0 ? 800U : 200U);
        for (std::size_t k = 0; k < pos.size(); ++k) {
            EXPECT_EQ(squared_distance(pos[k], three.populations[p].positions[k]), 0.0);
            points.insert({pos[k].x, pos[k].y, pos[k].z});
            const std::size_t q = p * 800 + k;
            in_lattice_order += pos[k].x == static_cast<double>(q / 100) &&
                                pos[k].y == static_cast<double>((q / 10) % 10) &&
                                pos[k].z == static_cast<double>(q % 10);
        }
    }
    EXPECT_EQ(points.size(), 1000U);  // every lattice point once
    EXPECT_EQ(*points.begin(), std::make_tuple(0.0, 0.0, 0.0));
    EXPECT_EQ(*points.rbegin(), std::make_tuple(9.0, 9.0, 9.0));
    EXPECT_LT(in_lattice_order, 10U);  // a fixed point has probability 1/1000 each
    auto other = e;
    other.simulation.seed = 6;
    const network reseeded = built(other);
    std::size_t moved = 0;
    for (std::size_t k = 0; k < 800; ++k) {
        moved += squared_distance(reseeded.populations[0].positions[k],
                                  one.populations[0].positions[k]) > 0;
    }
    EXPECT_GT(moved, 780U);
}

TEST(positions, explicit_lists_are_kept_as_given) {
    auto e = test::experiment(0.1, 1.0);
    auto p = test::population("a", "iaf_psc_delta", 3);
    p.positions = {{0.5, -1, 2}, {1e3, 0, 0}, {0.5, -1, 2}};
    e.populations.push_back(p);
    const network net = built(e);
    const auto& pos = net.populations[0].positions;
    ASSERT_EQ(pos.size(), 3U);
    EXPECT_EQ(pos[0].x, 0.5);
    EXPECT_EQ(pos[0].y, -1.0);
    EXPECT_EQ(pos[1].x, 1e3);
    EXPECT_EQ(pos[2].z, 2.0);
}

TEST(positions, shuffle_prefixes_are_the_same_dense_or_sparse_and_uniform) {
    for (std::uint64_t count: {0U, 1U, 17U, 1000U}) {
        rng_stream a(stream_key(9, stream::positions), 0, 0);
        rng_stream b(stream_key(9, stream::positions), 0, 0);
        const auto dense = shuffled_prefix(1000, count, a, false);
        const auto sparse = shuffled_prefix(1000, count, b, true);
        EXPECT_EQ(dense, sparse) << count;
        EXPECT_EQ(std::set<std::uint32_t>(dense.begin(), dense.end()).size(), count);
    }
    // All 24 orders of 4 points, over 24000 independent streams.
    std::map<std::vector<std::uint32_t>, double> seen;
    const int n = 24000;
    for (int i = 0; i < n; ++i) {
        rng_stream rng(stream_key(1, stream::positions), static_cast<std::uint32_t>(i), 0);
        seen[shuffled_prefix(4, 4, rng, false)] += 1;
    }
    ASSERT_EQ(seen.size(), 24U);
    double chi2 = 0;
    for (const auto& [order, count]: seen) {
        chi2 += (count - n / 24.0) * (count - n / 24.0) / (n / 24.0);
    }
    EXPECT_GT(test::chi_square_p_value(chi2, 23), 1e-3);
}

TEST(positions, a_sparse_use_of_a_huge_grid_costs_only_its_points) {
    auto e = test::experiment(0.1, 1.0);
    e.grids.push_back(grid("huge", 1625, 1625, 1625, true));  // 4.29e9 points
    e.populations.push_back(on_grid("a", 100, "huge"));
    const network net = built(e);
    std::set<std::tuple<double, double, double>> points;
    for (const auto& p: net.populations[0].positions) {
        EXPECT_TRUE(p.x >= 0 && p.x < 1625 && p.y >= 0 && p.y < 1625 && p.z >= 0 && p.z < 1625);
        points.insert({p.x, p.y, p.z});
    }
    EXPECT_EQ(points.size(), 100U);
}

TEST(positions, builder_errors_are_located_at_the_population) {
    auto e = test::experiment(0.1, 1.0);
    e.grids.push_back(grid("g", 2, 2, 2, false));
    e.populations.push_back(on_grid("a", 6, "g"));
    e.populations.push_back(on_grid("b", 3, "g"));
    e.populations.back().where = "x.yaml:9:5";
    try {
        built(e);
        ADD_FAILURE() << "no error";
    }
    catch (const error& err) {
        EXPECT_STREQ(err.what(), "x.yaml:9:5: populations.b.positions.grid: grid 'g' has 8 "
                                 "points; 6 are taken by the populations before 'b', which "
                                 "needs 3 more");
    }
}

// ---------------------------------------------------------------------------------------------
// Rule distance

TEST(distance_rule, lattice_counts_per_squared_distance_follow_the_formula) {
    for (const bool autapses: {false, true}) {
        for (const std::uint64_t seed: {1U, 2U, 3U}) {
            auto e = test::experiment(0.1, 1.0, seed);
            e.grids.push_back(grid("g", 10, 10, 10, seed != 2));
            e.populations.push_back(on_grid("a", 1000, "g"));
            e.projections.push_back(distance("aa", "a", "a", 0.3, 2.0, autapses));
            const network net = built(e);
            const auto syn = synapses_of(e);
            const auto classes = classes_of(net, syn, e.projections[0], lattice_class);
            int bins = 0;
            const double p = class_p_value(classes, &bins);
            EXPECT_GT(p, 1e-3) << "seed " << seed << ", autapses " << autapses;
            EXPECT_GT(bins, 10);
            const tally all = sum(classes);
            EXPECT_EQ(all.observed, static_cast<double>(syn.size()));
            EXPECT_LT(std::abs(all.observed - all.expected), 4 * std::sqrt(all.variance))
                << "seed " << seed << ": " << all.observed << " vs " << all.expected;
            std::size_t self = 0;
            for (const auto& x: syn) {
                self += x.source == x.target;
            }
            if (autapses) {
                // D = 0: each neuron connects to itself with probability C.
                EXPECT_NEAR(static_cast<double>(self), 300, 4.5 * std::sqrt(1000 * 0.3 * 0.7));
                EXPECT_EQ(classes.at(0).observed, static_cast<double>(self));
            } else {
                EXPECT_EQ(self, 0U);
            }
        }
    }
}

TEST(distance_rule, liquid_of_two_populations_follows_the_formula_per_projection) {
    for (const std::uint64_t seed: {11U, 12U}) {
        const auto e = liquid(8, 410, 102, seed);
        const network net = built(e);
        const auto syn = synapses_of(e);
        for (std::size_t i = 0; i < 4; ++i) {
            const auto& proj = e.projections[i];
            const auto classes = classes_of(net, syn, proj, lattice_class);
            EXPECT_GT(class_p_value(classes), 1e-3) << proj.name << ", seed " << seed;
            const tally all = sum(classes);
            EXPECT_LT(std::abs(all.observed - all.expected), 4 * std::sqrt(all.variance))
                << proj.name << ": " << all.observed << " vs " << all.expected;
        }
        for (const auto& x: syn) {
            EXPECT_NE(x.source, x.target);  // EE and II refuse autapses
        }
    }
}

TEST(distance_rule, arbitrary_positions_follow_the_formula) {
    // Sources and targets scattered uniformly in a 10^3 box (a fixed draw of the test's own).
    auto scatter = [](std::size_t n, std::uint32_t entity) {
        rng_stream rng(stream_key(2024, stream::sweep), entity, 0);
        std::vector<position> out(n);
        for (auto& p: out) {
            p = {rng.uniform(0, 10), rng.uniform(0, 10), rng.uniform(0, 10)};
        }
        return out;
    };
    for (const std::uint64_t seed: {1U, 2U}) {
        auto e = test::experiment(0.1, 1.0, seed);
        e.populations.push_back(test::population("s", "iaf_psc_delta", 900));
        e.populations.back().positions = scatter(900, 0);
        e.populations.push_back(test::population("t", "iaf_psc_delta", 1200));
        e.populations.back().positions = scatter(1200, 1);
        e.projections.push_back(distance("st", "s", "t", 0.8, 1.5));
        const network net = built(e);
        const auto syn = synapses_of(e);
        // Classes: distance bins of 0.25.
        const auto classes = classes_of(net, syn, e.projections[0], [](double d2) {
            return static_cast<long>(std::sqrt(d2) / 0.25);
        });
        int bins = 0;
        EXPECT_GT(class_p_value(classes, &bins), 1e-3) << "seed " << seed;
        EXPECT_GT(bins, 10);
        const tally all = sum(classes);
        EXPECT_LT(std::abs(all.observed - all.expected), 4 * std::sqrt(all.variance))
            << all.observed << " vs " << all.expected;
    }
}

TEST(distance_rule, extreme_parameters) {
    auto e = test::experiment(0.1, 1.0);
    e.grids.push_back(grid("g", 5, 5, 4, true));
    e.populations.push_back(on_grid("a", 100, "g"));
    // C = 1 and lambda far beyond the grid: every pair, autapses excluded.
    e.projections.push_back(distance("all", "a", "a", 1.0, 1e6, false));
    EXPECT_EQ(synapses_of(e).size(), 100U * 99U);
    // C = 0: nothing; a tiny lambda: only D = 0 pairs, with probability C.
    e.projections[0].connectivity.C = 0;
    EXPECT_EQ(synapses_of(e).size(), 0U);
    e.projections[0].connectivity.C = 1;
    e.projections[0].connectivity.lambda = 1e-3;
    e.projections[0].connectivity.allow_autapses = true;
    const auto syn = synapses_of(e);
    ASSERT_EQ(syn.size(), 100U);
    for (const auto& x: syn) {
        EXPECT_EQ(x.source, x.target);
    }
}

TEST(distance_rule, needs_positions_on_both_sides) {
    auto e = test::experiment(0.1, 1.0);
    e.grids.push_back(grid("g", 2, 2, 2, false));
    e.populations.push_back(on_grid("a", 8, "g"));
    e.populations.push_back(test::population("b", "iaf_psc_delta", 4));
    e.projections.push_back(distance("ab", "a", "b", 0.5, 1.0));
    e.projections.back().where = "x.yaml:12:3";
    try {
        built(e);
        ADD_FAILURE() << "no error";
    }
    catch (const error& err) {
        EXPECT_STREQ(err.what(), "x.yaml:12:3: projections.ab: rule distance needs positions for "
                                 "the source and the target; population 'b' has none (give it "
                                 "positions: {grid: NAME} or a list)");
    }
}

TEST(distance_rule, nalsm8000_liquid_matches_its_expectation) {
    // 20^3 lattice, 6400 E and 1600 I, lambda 3, NALSM's C: about 178k synapses.
    auto e = liquid(20, 6400, 1600, 3);
    e.projections.resize(4);  // the liquid alone
    simulation sim(e, test::builtin_models(), test::quiet_context(2, 2));
    RecordProperty("build_seconds", std::to_string(sim.report().build_seconds));
    const auto syn = sim.static_synapses();
    // Expectation and variance per projection, with p tabulated by the integer D^2.
    const network net = built(e);
    const auto& E = net.populations[0];
    const auto& I = net.populations[1];
    std::vector<double> table(3 * 19 * 19 + 1);
    double expected = 0, variance = 0;
    for (const auto& proj: e.projections) {
        const auto& src = proj.source == "E" ? E : I;
        const auto& tgt = proj.target == "E" ? E : I;
        for (std::size_t d2 = 0; d2 < table.size(); ++d2) {
            table[d2] = proj.connectivity.C * std::exp(-static_cast<double>(d2) / 9.0);
        }
        for (std::size_t t = 0; t < tgt.size; ++t) {
            for (std::size_t s = 0; s < src.size; ++s) {
                if (&src == &tgt && s == t) {
                    continue;
                }
                const double p = table[static_cast<std::size_t>(
                    squared_distance(src.positions[s], tgt.positions[t]))];
                expected += p;
                variance += p * (1 - p);
            }
        }
    }
    EXPECT_NEAR(expected, 178e3, 2e3);  // science-spec §1.1: about 178k
    EXPECT_LT(std::abs(static_cast<double>(syn.size()) - expected), 4 * std::sqrt(variance))
        << syn.size() << " vs " << expected;
}

// ---------------------------------------------------------------------------------------------
// fixed_total_number: density and groups

TEST(total_number_group, draws_one_set_of_distinct_pairs_over_the_union) {
    auto e = test::experiment(0.1, 1.0);
    e.populations.push_back(test::population("in", "iaf_psc_delta", 60));
    e.populations.push_back(test::population("E", "iaf_psc_delta", 80));
    e.populations.push_back(test::population("I", "iaf_psc_delta", 20));
    for (const char* t: {"E", "I"}) {
        auto p = total(std::string("in") + t, "in", t, "g");
        p.connectivity.density = 0.15;
        e.projections.push_back(p);
    }
    const auto n = static_cast<std::uint64_t>(0.15 * 60.0 * 100.0);
    const auto syn = synapses_of(e, 2, 3);
    EXPECT_EQ(syn.size(), n);
    std::set<std::pair<neuron_id, neuron_id>> pairs;
    std::size_t onto_e = 0;
    for (const auto& x: syn) {
        EXPECT_LT(x.source, 60U);
        EXPECT_GE(x.target, 60U);
        EXPECT_LT(x.target, 160U);
        EXPECT_TRUE(pairs.insert({x.source, x.target}).second) << "multapse";
        onto_e += x.target < 140;
    }
    // Each pair lands on E with probability 0.8 (hypergeometric over the 6000 pairs).
    const double N = 6000;
    const double sd = std::sqrt(static_cast<double>(n) * 0.8 * 0.2 * (N - n) / (N - 1));
    EXPECT_NEAR(static_cast<double>(onto_e), 0.8 * static_cast<double>(n), 4.5 * sd);
}

TEST(total_number_group, members_keep_their_pairs_in_their_own_range_and_order) {
    // Weights as a pair's index among its member's pairs: a member sees the group's sequence
    // filtered to its targets, whatever the partitioning.
    auto e = test::experiment(0.1, 1.0);
    e.populations.push_back(test::population("in", "iaf_psc_delta", 30));
    e.populations.push_back(test::population("A", "iaf_psc_delta", 7));
    e.populations.push_back(test::population("B", "iaf_psc_delta", 13));
    for (const char* t: {"A", "B"}) {
        auto p = total(std::string("in") + t, "in", t, "g");
        p.connectivity.n = 200;
        p.weight = test::uniform(0, 1);
        e.projections.push_back(p);
    }
    const auto reference = synapses_of(e, 1, 1);
    EXPECT_EQ(reference.size(), 200U);
    for (int partitions: {2, 3, 5}) {
        const auto other = synapses_of(e, 2, partitions);
        ASSERT_EQ(other.size(), reference.size());
        for (std::size_t i = 0; i < other.size(); ++i) {
            EXPECT_EQ(other[i].source, reference[i].source);
            EXPECT_EQ(other[i].target, reference[i].target);
            EXPECT_EQ(other[i].weight, reference[i].weight);
        }
    }
}

TEST(total_number_group, autapses_are_refused_per_member) {
    auto e = test::experiment(0.1, 1.0);
    e.populations.push_back(test::population("E", "iaf_psc_delta", 10));
    e.populations.push_back(test::population("I", "iaf_psc_delta", 5));
    for (const char* t: {"E", "I"}) {
        auto p = total(std::string("E") + t, "E", t, "g");
        p.connectivity.n = 140;  // 10 x 15 pairs, 10 of them autapses
        p.connectivity.allow_autapses = false;
        e.projections.push_back(p);
    }
    const auto syn = synapses_of(e);
    EXPECT_EQ(syn.size(), 140U);  // every allowed pair
    for (const auto& x: syn) {
        EXPECT_NE(x.source, x.target);
    }
    e.projections[0].connectivity.n = 141;
    e.projections[1].connectivity.n = 141;
    EXPECT_THROW(built(e), error);
}

TEST(total_number_group, a_group_of_one_draws_like_an_ungrouped_projection) {
    auto e = test::experiment(0.1, 1.0, 4);
    e.populations.push_back(test::population("a", "iaf_psc_delta", 40));
    e.populations.push_back(test::population("b", "iaf_psc_delta", 30));
    auto p = total("ab", "a", "b", "");
    p.connectivity.n = 500;
    p.weight = test::normal(1, 0.2);
    e.projections.push_back(p);
    auto grouped = e;
    grouped.projections[0].connectivity.group = "solo";
    EXPECT_EQ(test::run(grouped).connectivity_hash, test::run(e).connectivity_hash);
}

TEST(total_number_group, density_is_floored_in_double) {
    // 0.29 * 100 * 1 = 28.999999999999996 in double: 28 connections.
    auto e = test::experiment(0.1, 1.0);
    e.populations.push_back(test::population("a", "iaf_psc_delta", 100));
    e.populations.push_back(test::population("b", "iaf_psc_delta", 1));
    auto p = total("ab", "a", "b", "");
    p.connectivity.density = 0.29;
    e.projections.push_back(p);
    EXPECT_EQ(synapses_of(e).size(), 28U);
    // NALSM1000 with 784 inputs: int(0.15 * 784 * 1000) = 117600, over E and I.
    auto nalsm = test::experiment(0.1, 1.0);
    nalsm.populations.push_back(test::population("input", "iaf_psc_delta", 784));
    nalsm.populations.push_back(test::population("E", "iaf_psc_delta", 800));
    nalsm.populations.push_back(test::population("I", "iaf_psc_delta", 200));
    for (const char* t: {"E", "I"}) {
        auto q = total(std::string("in") + t, "input", t, "in");
        q.connectivity.density = 0.15;
        nalsm.projections.push_back(q);
    }
    EXPECT_EQ(synapses_of(nalsm, 2, 2).size(), 117600U);
}

TEST(total_number_group, members_must_agree) {
    auto e = test::experiment(0.1, 1.0);
    e.populations.push_back(test::population("x", "iaf_psc_delta", 10));
    e.populations.push_back(test::population("y", "iaf_psc_delta", 10));
    e.projections.push_back(total("p", "x", "y", "g"));
    e.projections.push_back(total("q", "y", "x", "g"));
    e.projections[0].connectivity.n = 5;
    e.projections[1].connectivity.n = 5;
    e.projections[1].where = "x.yaml:20:3";
    try {
        built(e);
        ADD_FAILURE() << "no error";
    }
    catch (const error& err) {
        EXPECT_STREQ(err.what(), "x.yaml:20:3: projections.q: group 'g' draws its pairs from one "
                                 "source; 'p' has source 'x', 'q' has 'y'");
    }
    e.projections[1].source = "x";
    e.projections[1].connectivity.n = 6;
    EXPECT_THROW(built(e), error);
    e.projections[1].connectivity.n = 5;
    e.projections[1].connectivity.allow_multapses = true;
    EXPECT_THROW(built(e), error);
    e.projections[1].connectivity.allow_multapses = false;
    EXPECT_EQ(synapses_of(e).size(), 5U);
}

// ---------------------------------------------------------------------------------------------
// Determinism

TEST(spatial, liquid_connectivity_does_not_depend_on_threads_or_partitions) {
    auto e = liquid(8, 400, 112, 21);
    e.projections[0].weight = test::uniform(0.5, 1.5);
    e.projections[2].delay = test::uniform(0.1, 2.0);
    const std::uint64_t reference = test::run(e, 1, 1).connectivity_hash;
    for (int threads: {1, 2}) {
        for (int partitions: {1, 3, 8}) {
            EXPECT_EQ(test::run(e, threads, partitions).connectivity_hash, reference)
                << threads << " threads, " << partitions << " partitions";
        }
    }
    auto other = e;
    other.simulation.seed = 22;
    EXPECT_NE(test::run(other).connectivity_hash, reference);
}
