#include "reservoir/nalsm.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

#include <fmt/format.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <glia/error.hpp>
#include <glia/rng.hpp>

namespace glia::reservoir::nalsm {

namespace {

// Entities of stream::reservoir used here (documented in rng.hpp).
constexpr std::uint32_t entity_lattice = 2;
constexpr std::uint32_t entity_liquid_synapses = 3;
constexpr std::uint32_t entity_input_pairs = 4;
constexpr std::uint32_t entity_input_signs = 5;
constexpr std::uint32_t entity_astrocyte_masks = 6;
constexpr std::uint32_t entity_input_events = 16;  // + phase tag

constexpr int s_cap = 100;  // NALSM clips s_ij here

void check_probability(double p, const char* name) {
    if (!(p >= 0 && p <= 1)) {
        throw error(fmt::format("NALSM liquid: {} = {} is not a probability in [0, 1]", name, p));
    }
}

// k of n indices chosen uniformly without replacement, ascending (Knuth's selection sampling).
std::vector<std::uint64_t> choose_sorted(std::uint64_t n, std::uint64_t k, rng_stream& rng) {
    std::vector<std::uint64_t> chosen;
    chosen.reserve(k);
    for (std::uint64_t i = 0; i < n && chosen.size() < k; ++i) {
        const double u = rng.uniform();
        if (static_cast<double>(n - i) * u < static_cast<double>(k - chosen.size())) {
            chosen.push_back(i);
        }
    }
    return chosen;
}

}  // namespace

liquid build_liquid(const liquid_params& params, std::uint64_t seed) {
    const std::uint64_t n64 =
        static_cast<std::uint64_t>(params.grid[0]) * params.grid[1] * params.grid[2];
    if (n64 == 0 || n64 > 1'000'000) {
        throw error(fmt::format("NALSM liquid: grid {} x {} x {} must hold 1 to 1,000,000 neurons",
                                params.grid[0], params.grid[1], params.grid[2]));
    }
    if (std::max({params.grid[0], params.grid[1], params.grid[2]}) > 65535) {
        throw error("NALSM liquid: a grid side must be at most 65535");
    }
    check_probability(params.excitatory_fraction, "excitatory_fraction");
    check_probability(params.c_ee, "C_EE");
    check_probability(params.c_ei, "C_EI");
    check_probability(params.c_ie, "C_IE");
    check_probability(params.c_ii, "C_II");
    check_probability(params.input_density, "input_density");
    if (!(params.lambda > 0) || !std::isfinite(params.lambda)) {
        throw error(fmt::format("NALSM liquid: lambda = {} must be > 0", params.lambda));
    }
    if (!(params.w_abs >= 0) || !std::isfinite(params.w_abs)) {
        throw error(fmt::format("NALSM liquid: w_abs = {} must be >= 0", params.w_abs));
    }
    const auto n = static_cast<std::uint32_t>(n64);
    liquid net;
    net.grid = params.grid;
    net.n_exc = static_cast<std::uint32_t>(std::lround(params.excitatory_fraction * n));
    net.n_inh = n - net.n_exc;
    net.n_input = params.n_input;
    const std::uint32_t n_total = net.n_total();
    const std::uint64_t key = stream_key(seed, stream::reservoir);

    // Lattice points randomly permuted over the neurons (Fisher-Yates).
    std::vector<std::uint32_t> point(n);
    std::iota(point.begin(), point.end(), 0U);
    {
        rng_stream rng(key, entity_lattice, 0);
        for (std::uint32_t i = n - 1; i > 0; --i) {
            std::swap(point[i], point[rng.below(i + 1)]);
        }
    }
    net.position.resize(n);
    const std::uint32_t d2 = params.grid[1];
    const std::uint32_t d3 = params.grid[2];
    for (std::uint32_t i = 0; i < n; ++i) {
        net.position[i] = {static_cast<std::uint16_t>(point[i] / (d2 * d3)),
                           static_cast<std::uint16_t>((point[i] / d3) % d2),
                           static_cast<std::uint16_t>(point[i] % d3)};
    }

    // Liquid -> liquid: one Bernoulli draw per ordered pair, C_type exp(-(D / lambda)^2), drawn
    // per postsynaptic neuron from its own stream. Thresholds by squared distance and type.
    const std::uint64_t max_d2 = static_cast<std::uint64_t>(params.grid[0]) * params.grid[0] +
                                 static_cast<std::uint64_t>(d2) * d2 +
                                 static_cast<std::uint64_t>(d3) * d3;
    // threshold[type][D^2]: accept when a 32-bit draw is below it; type = 2 * pre_inh + post_inh.
    std::array<std::vector<std::uint64_t>, 4> threshold;
    const std::array<double, 4> c = {params.c_ee, params.c_ei, params.c_ie, params.c_ii};
    for (std::size_t type = 0; type < 4; ++type) {
        threshold[type].resize(max_d2 + 1);
        for (std::uint64_t dd = 0; dd <= max_d2; ++dd) {
            const double p =
                c[type] * std::exp(-static_cast<double>(dd) / (params.lambda * params.lambda));
            threshold[type][dd] = static_cast<std::uint64_t>(std::ldexp(p, 32));
        }
    }
    std::vector<std::vector<std::uint32_t>> pre_of(n);  // liquid presynaptic neurons per post
    tbb::parallel_for(tbb::blocked_range<std::uint32_t>(0, n, 64),
                      [&](const tbb::blocked_range<std::uint32_t>& range) {
                          for (std::uint32_t i = range.begin(); i != range.end(); ++i) {
                              rng_stream rng(key, entity_liquid_synapses, i);
                              const auto& pi = net.position[i];
                              const std::size_t post_inh = i >= net.n_exc ? 1 : 0;
                              for (std::uint32_t j = 0; j < n; ++j) {
                                  if (j == i) {
                                      continue;
                                  }
                                  const auto& pj = net.position[j];
                                  const auto sq = [](int a, int b) {
                                      return static_cast<std::uint64_t>((a - b) * (a - b));
                                  };
                                  const std::uint64_t dd =
                                      sq(pi[0], pj[0]) + sq(pi[1], pj[1]) + sq(pi[2], pj[2]);
                                  const std::size_t type = 2 * (j >= net.n_exc ? 1 : 0) + post_inh;
                                  if (rng.next_u32() < threshold[type][dd]) {
                                      pre_of[i].push_back(j);
                                  }
                              }
                          }
                      });

    // Input -> liquid: exactly int(density N n_input) of the N n_input (post, input) pairs.
    const std::uint64_t n_pairs = static_cast<std::uint64_t>(n) * params.n_input;
    const auto n_input_synapses = static_cast<std::uint64_t>(
        params.input_density * static_cast<double>(n) * static_cast<double>(params.n_input));
    std::vector<std::uint64_t> pairs;
    {
        rng_stream rng(key, entity_input_pairs, 0);
        pairs = choose_sorted(n_pairs, n_input_synapses, rng);
    }
    std::vector<std::int8_t> sign(pairs.size());
    {
        rng_stream rng(key, entity_input_signs, 0);
        for (auto& s: sign) {
            s = (rng.next_u32() & 1U) ? 1 : -1;
        }
    }

    // Both CSR directions. Synapse ids follow the presynaptic rows; within a row, posts ascend.
    std::vector<std::uint32_t> out_count(n_total, 0);
    for (std::uint32_t i = 0; i < n; ++i) {
        for (std::uint32_t j: pre_of[i]) {
            ++out_count[j];
        }
    }
    for (std::uint64_t q: pairs) {
        ++out_count[n + static_cast<std::uint32_t>(q % params.n_input)];
    }
    net.out_offset.assign(static_cast<std::size_t>(n_total) + 1, 0);
    for (std::uint32_t j = 0; j < n_total; ++j) {
        net.out_offset[j + 1] = net.out_offset[j] + out_count[j];
    }
    const std::size_t n_syn = net.out_offset[n_total];
    if (n_syn > std::numeric_limits<std::uint32_t>::max()) {
        throw error("NALSM liquid: more than 2^32 synapses");
    }
    net.post.resize(n_syn);
    net.weight.resize(n_syn);
    std::vector<std::uint32_t> fill(net.out_offset.begin(), net.out_offset.end() - 1);
    const auto w = static_cast<float>(params.w_abs);
    std::size_t next_pair = 0;
    for (std::uint32_t i = 0; i < n; ++i) {  // posts ascending: rows come out sorted
        for (std::uint32_t j: pre_of[i]) {
            const std::uint32_t s = fill[j]++;
            net.post[s] = i;
            net.weight[s] = j < net.n_exc ? w : -w;
        }
        for (; next_pair < pairs.size() && pairs[next_pair] / params.n_input == i; ++next_pair) {
            const std::uint32_t k =
                n + static_cast<std::uint32_t>(pairs[next_pair] % params.n_input);
            const std::uint32_t s = fill[k]++;
            net.post[s] = i;
            net.weight[s] = sign[next_pair] > 0 ? w : -w;
        }
    }
    net.in_offset.assign(static_cast<std::size_t>(n) + 1, 0);
    for (std::uint32_t s = 0; s < n_syn; ++s) {
        ++net.in_offset[net.post[s] + 1];
    }
    for (std::uint32_t i = 0; i < n; ++i) {
        net.in_offset[i + 1] += net.in_offset[i];
    }
    net.in_synapse.resize(n_syn);
    net.in_pre.resize(n_syn);
    std::vector<std::uint32_t> in_fill(net.in_offset.begin(), net.in_offset.end() - 1);
    for (std::uint32_t j = 0; j < n_total; ++j) {  // pres ascending within each post
        for (std::uint32_t s = net.out_offset[j]; s < net.out_offset[j + 1]; ++s) {
            const std::uint32_t e = in_fill[net.post[s]]++;
            net.in_synapse[e] = s;
            net.in_pre[e] = j;
        }
    }
    return net;
}

astrocyte_layout make_astrocyte_layout(const liquid& net, const astrocyte_params& params,
                                       std::uint64_t seed) {
    check_probability(params.rho, "astrocyte rho");
    for (std::size_t a = 0; a < 3; ++a) {
        if (params.regions[a] == 0 || params.regions[a] > net.grid[a]) {
            throw error(
                fmt::format("NALSM astrocytes: {} regions along axis {} of a lattice {} wide "
                            "(allowed: 1 to {})",
                            params.regions[a], a + 1, net.grid[a], net.grid[a]));
        }
    }
    astrocyte_layout layout;
    layout.n_regions = params.regions[0] * params.regions[1] * params.regions[2];
    layout.region.resize(net.n_liquid());
    for (std::uint32_t i = 0; i < net.n_liquid(); ++i) {
        std::array<std::uint32_t, 3> r{};
        for (std::size_t a = 0; a < 3; ++a) {
            r[a] = static_cast<std::uint32_t>(static_cast<std::uint64_t>(net.position[i][a]) *
                                              params.regions[a] / net.grid[a]);
        }
        layout.region[i] = (r[0] * params.regions[1] + r[1]) * params.regions[2] + r[2];
    }
    // Exactly round(rho n) of each group, chosen without replacement.
    layout.reads.assign(net.n_total(), 0);
    rng_stream rng(stream_key(seed, stream::reservoir), entity_astrocyte_masks, 0);
    const auto mark = [&](std::uint32_t first, std::uint32_t count) {
        const auto k = static_cast<std::uint64_t>(std::llround(params.rho * count));
        for (std::uint64_t q: choose_sorted(count, k, rng)) {
            layout.reads[first + q] = 1;
        }
    };
    mark(0, net.n_liquid());
    mark(net.n_liquid(), net.n_input);
    return layout;
}

worker::worker(const liquid& net, const model_params& params, const astrocyte_layout& layout):
    net_(net), params_(params), layout_(layout) {
    const auto& nr = params.neuron;
    if (!(nr.tau_v > 0) || !(nr.tau_u > 0) || nr.t_ref < 0 || nr.s_init < 0 ||
        !(nr.i_ext >= nr.v_th)) {
        throw error("NALSM neuron: tau_v and tau_u must be > 0, t_ref and s_init >= 0, "
                    "i_ext >= V_th");
    }
    if (!(params.astrocyte.tau_a > 0)) {
        throw error("NALSM astrocyte: tau_A must be > 0");
    }
    const std::uint32_t nl = net.n_liquid();
    const std::uint32_t nt = net.n_total();
    v_.assign(nl, 0);
    ref_.assign(nl, 0);
    current_.assign(nl, 0);
    x_.assign(nt, 0);
    since_.assign(nt, 0);
    spiked_.assign(nt, 0);
    pending_.assign(net.n_input, 0);
    input_last_.assign(net.n_input, 0);
    spikes_.reserve(nt);
    exp_s_.resize(s_cap + 1);
    for (int s = 0; s <= s_cap; ++s) {
        exp_s_[s] = std::exp(-s / nr.tau_u) / nr.tau_u;
    }
    region_a_.assign(layout.n_regions, 0);
    region_count_.assign(layout.n_regions, 0);
    adjust_.assign(nl, 0);
    // In-rows list presynaptic neurons in ascending order: E, then I, then inputs.
    in_first_inh_.resize(nl);
    in_first_input_.resize(nl);
    for (std::uint32_t i = 0; i < nl; ++i) {
        const auto first = net.in_pre.begin() + net.in_offset[i];
        const auto last = net.in_pre.begin() + net.in_offset[i + 1];
        if (!std::is_sorted(first, last)) {
            throw internal_error("nalsm liquid: presynaptic neurons of an in-row not ascending");
        }
        in_first_inh_[i] = static_cast<std::uint32_t>(std::lower_bound(first, last, net.n_exc) -
                                                      net.in_pre.begin());
        in_first_input_[i] = static_cast<std::uint32_t>(
            std::lower_bound(first, last, net.n_liquid()) - net.in_pre.begin());
    }
}

void worker::reset_traces() {
    std::fill(x_.begin(), x_.end(), 0.0F);
}

void draw_input_events(std::span<const float> p, std::size_t steps, std::uint64_t seed,
                       std::uint32_t phase_tag, std::uint64_t sample_key, input_events& out,
                       std::vector<std::pair<std::uint32_t, std::uint32_t>>& scratch) {
    rng_stream rng(stream_key(seed, stream::reservoir), entity_input_events + phase_tag,
                   sample_key);
    // Geometric gaps per pixel, collected as (step, pixel), then counting-sorted by step.
    scratch.clear();
    for (std::uint32_t k = 0; k < p.size(); ++k) {
        const double pk = p[k];
        if (pk <= 0) {
            continue;
        }
        if (pk >= 1) {
            for (std::size_t t = 0; t < steps; ++t) {
                scratch.emplace_back(static_cast<std::uint32_t>(t), k);
            }
            continue;
        }
        const double inv_log_q = 1.0 / std::log1p(-pk);
        double t = std::floor(std::log(rng.uniform_pos()) * inv_log_q);
        while (t < static_cast<double>(steps)) {
            scratch.emplace_back(static_cast<std::uint32_t>(t), k);
            t += 1.0 + std::floor(std::log(rng.uniform_pos()) * inv_log_q);
        }
    }
    out.offset.assign(steps + 1, 0);
    for (const auto& e: scratch) {
        ++out.offset[e.first + 1];
    }
    for (std::size_t t = 0; t < steps; ++t) {
        out.offset[t + 1] += out.offset[t];
    }
    out.pixel.resize(scratch.size());
    std::vector<std::uint32_t> fill(out.offset.begin(), out.offset.end() - 1);
    for (const auto& e: scratch) {  // pixels ascend within a step: scratch is by pixel
        out.pixel[fill[e.first]++] = e.second;
    }
}

void worker::run(std::span<float> weights, std::span<const float> p, std::size_t steps,
                 double decay, std::uint64_t seed, std::uint32_t phase_tag,
                 std::uint64_t sample_key, const sample_record& record, sample_output& out) {
    if (p.size() != net_.n_input) {
        throw internal_error("nalsm::worker::run: probabilities of the wrong size");
    }
    draw_input_events(p, steps, seed, phase_tag, sample_key, events_, scratch_);
    run_events(weights, events_, steps, decay, record, out);
}

void worker::run_events(std::span<float> weights, const input_events& events, std::size_t steps,
                        double decay, const sample_record& record, sample_output& out) {
    if (weights.size() != net_.n_synapses() || events.offset.size() != steps + 1) {
        throw internal_error("nalsm::worker::run: weights or events of the wrong size");
    }
    const std::uint32_t nl = net_.n_liquid();
    const std::uint32_t nt = net_.n_total();
    const auto& nr = params_.neuron;

    // Sample reset (science-spec §1.6): V, S, refractory counters, s, A, w_A, b_A, eta.
    std::fill(v_.begin(), v_.end(), 0.0);
    std::fill(ref_.begin(), ref_.end(), 0);
    std::fill(pending_.begin(), pending_.end(), 0);
    std::fill(input_last_.begin(), input_last_.end(), std::numeric_limits<std::int32_t>::min());
    // since_ holds the step of the last spike; s_j = t - since_[j] (capped), s = s_init at t = 0.
    std::fill(since_.begin(), since_.end(), -nr.s_init);
    if (shared_current_.size() == nl) {
        std::copy(shared_current_.begin(), shared_current_.end(), current_.begin());
    } else {
        current_ = initial_current(net_, weights, nr);
    }
    double eta = params_.stdp.eta;
    double w_a = params_.astrocyte.w_a;
    double b_a = params_.astrocyte.b_a;
    std::fill(region_a_.begin(), region_a_.end(), params_.astrocyte.a0);
    const double inv_regions = 1.0 / layout_.n_regions;

    out.counts.assign(nl, 0.0F);
    out.binned.assign(record.bins * nl, 0.0F);
    out.raster_step.clear();
    out.raster_neuron.clear();
    out.astrocyte.clear();
    out.liquid_spikes = 0;
    out.input_spikes = 0;

    const double leak = 1.0 / nr.tau_v;
    const double v_th = nr.v_th;
    const double u_decay = std::exp(-1.0 / nr.tau_u);
    const auto t_ref = static_cast<std::int64_t>(nr.t_ref);
    const bool plastic = params_.rule != plasticity::none;
    const bool astro = params_.rule == plasticity::astro_stdp;
    const double trace_a = params_.stdp.a;
    const double trace_d = params_.stdp.d;
    const double w_max = params_.stdp.w_max;
    const std::array<double, 3> lo = {0.0, -w_max, -w_max};  // by group: E, I, input
    const std::array<double, 3> hi = {w_max, 0.0, w_max};
    const auto s_of = [&](std::uint32_t j, std::int64_t t) {
        return static_cast<int>(std::min<std::int64_t>(t - since_[j], s_cap));
    };

    for (std::size_t step = 0; step < steps; ++step) {
        const auto t = static_cast<std::int64_t>(step);
        spikes_.clear();
        // 1-2. Register spikes and reset. Refractory: ref_ counts down from t_ref after a spike;
        // a neuron may spike when it is <= 0.
        for (std::uint32_t i = 0; i < nl; ++i) {
            if (v_[i] >= v_th && ref_[i] <= 0) {
                spikes_.push_back(i);
                v_[i] = 0;
            }
        }
        const std::size_t n_liquid_spikes = spikes_.size();
        for (std::uint32_t k = 0; k < net_.n_input; ++k) {
            if (pending_[k] && t - input_last_[k] > t_ref) {
                pending_[k] = 0;
                input_last_[k] = t;
                spikes_.push_back(nl + k);
            }
        }
        for (std::uint32_t j: spikes_) {
            spiked_[j] = 1;
        }
        // 3. Counts and records.
        for (std::size_t q = 0; q < n_liquid_spikes; ++q) {
            out.counts[spikes_[q]] += 1.0F;
        }
        if (record.bins > 0) {
            float* bin = out.binned.data() + (step * record.bins / steps) * nl;
            for (std::size_t q = 0; q < n_liquid_spikes; ++q) {
                bin[spikes_[q]] += 1.0F;
            }
        }
        if (record.raster) {
            for (std::size_t q = 0; q < n_liquid_spikes; ++q) {
                out.raster_step.push_back(static_cast<std::uint32_t>(step));
                out.raster_neuron.push_back(spikes_[q]);
            }
        }
        out.liquid_spikes += n_liquid_spikes;
        out.input_spikes += spikes_.size() - n_liquid_spikes;
        // 4. Propagate: s_ij <- 0 for the spiking j; the current jumps to w / tau_u. The
        // depression half of STDP (step 8) for these synapses is done in the same pass: it
        // needs only this step's spikes and the traces of earlier steps, which step 4 already
        // has. Synapses onto spiking neurons are left to the post-spike pass below. Its current
        // changes wait in adjust_ until after the integration (s = 1 for them by then).
        const double a_global = region_a_[0];
        const bool regional = layout_.n_regions > 1;
        for (std::uint32_t j: spikes_) {
            const double jump = exp_s_[0] - exp_s_[s_of(j, t)];
            const std::uint32_t end = net_.out_offset[j + 1];
            if (!plastic) {
                for (std::uint32_t s = net_.out_offset[j]; s < end; ++s) {
                    current_[net_.post[s]] += weights[s] * jump;
                }
            } else {
                const group g = net_.group_of(j);
                const bool inh = g == group::inhibitory;
                const auto gi = static_cast<std::size_t>(g);
                const double lo_g = lo[gi];
                const double hi_g = hi[gi];
                for (std::uint32_t s = net_.out_offset[j]; s < end; ++s) {
                    const std::uint32_t i = net_.post[s];
                    const float old_w = weights[s];
                    current_[i] += old_w * jump;
                    if (spiked_[i]) {
                        continue;
                    }
                    const double a_i = !astro     ? eta
                                       : regional ? region_a_[layout_.region[i]]
                                                  : a_global;
                    const double l_minus = inh ? eta : -a_i;
                    const auto new_w =
                        static_cast<float>(std::clamp(old_w + l_minus * x_[i], lo_g, hi_g));
                    weights[s] = new_w;
                    adjust_[i] += static_cast<double>(new_w - old_w);
                }
            }
            since_[j] = static_cast<std::int32_t>(t);
        }
        // 5. Integrate (leak on the post-reset V), 6. evolve (s + 1 for every synapse: since_
        // is a step stamp, the current decays), 7. count the refractory period down.
        for (std::uint32_t i = 0; i < nl; ++i) {
            v_[i] += current_[i] - v_[i] * leak;
            current_[i] *= u_decay;
            ref_[i] -= 1;
        }
        for (std::uint32_t e = events.offset[step]; e < events.offset[step + 1]; ++e) {
            pending_[events.pixel[e]] = 1;  // I_ext >= V_th: the neuron fires when it may
        }
        for (std::size_t q = 0; q < n_liquid_spikes; ++q) {
            ref_[spikes_[q]] = nr.t_ref;
        }
        // 8. STDP with this step's S and the traces of earlier steps; s after evolving: t + 1.
        if (plastic) {
            if (!spikes_.empty()) {
                const double e1 = exp_s_[1];
                for (std::uint32_t i = 0; i < nl; ++i) {
                    current_[i] += adjust_[i] * e1;
                    adjust_[i] = 0;
                }
            }
            // Post spikes: both terms for every incoming synapse, by presynaptic group
            // (in-rows list E, then I, then input presynaptic neurons).
            for (std::size_t q = 0; q < n_liquid_spikes; ++q) {
                const std::uint32_t i = spikes_[q];
                const double a_i = !astro     ? eta
                                   : regional ? region_a_[layout_.region[i]]
                                              : a_global;
                const double x_i = x_[i];
                const auto segment = [&](std::uint32_t first, std::uint32_t last, double l_plus,
                                         double l_minus, double lo_g, double hi_g) {
                    for (std::uint32_t e = first; e < last; ++e) {
                        const std::uint32_t j = net_.in_pre[e];
                        const std::uint32_t syn = net_.in_synapse[e];
                        double dw = l_plus * x_[j];
                        if (spiked_[j]) {
                            dw += l_minus * x_i;
                        }
                        const float old_w = weights[syn];
                        const auto new_w = static_cast<float>(std::clamp(old_w + dw, lo_g, hi_g));
                        weights[syn] = new_w;
                        current_[i] += static_cast<double>(new_w - old_w) * exp_s_[s_of(j, t + 1)];
                    }
                };
                segment(net_.in_offset[i], in_first_inh_[i], eta, -a_i, lo[0], hi[0]);
                segment(in_first_inh_[i], in_first_input_[i], -a_i, eta, lo[1], hi[1]);
                segment(in_first_input_[i], net_.in_offset[i + 1], eta, -a_i, lo[2], hi[2]);
            }
        }
        // 9. Traces: x <- d (x + a S).
        for (std::uint32_t j = 0; j < nt; ++j) {
            x_[j] = static_cast<float>(trace_d * (x_[j] + trace_a * spiked_[j]));
        }
        // 10. Astrocytes read this step's spikes.
        std::fill(region_count_.begin(), region_count_.end(), 0.0);
        double input_read = 0;
        for (std::uint32_t j: spikes_) {
            if (layout_.reads[j]) {
                if (j < nl) {
                    region_count_[layout_.region[j]] += 1;
                } else {
                    input_read += 1;
                }
            }
        }
        const double tau_a = params_.astrocyte.tau_a;
        for (std::size_t r = 0; r < region_a_.size(); ++r) {
            const double drive = region_count_[r] - input_read * inv_regions;
            region_a_[r] += (w_a * drive + b_a - region_a_[r]) / tau_a;
        }
        // 11. Decays.
        if (decay != 1.0) {
            eta *= decay;
            w_a *= decay;
            b_a *= decay;
            for (double& a: region_a_) {
                a *= decay;
            }
        }
        if (record.astrocyte_trace) {
            for (double a: region_a_) {
                out.astrocyte.push_back(static_cast<float>(a));
            }
        }
        for (std::uint32_t j: spikes_) {
            spiked_[j] = 0;
        }
    }
    if (record.final_v) {
        out.final_v.assign(v_.begin(), v_.end());
    }
    double a_sum = 0;
    for (double a: region_a_) {
        a_sum += a;
    }
    out.final_a = a_sum * inv_regions;
}

std::vector<double> initial_current(const liquid& net, std::span<const float> weights,
                                    const neuron_params& neuron) {
    const double e_init = std::exp(-std::min(neuron.s_init, s_cap) / neuron.tau_u) / neuron.tau_u;
    std::vector<double> current(net.n_liquid(), 0.0);
    for (std::uint32_t s = 0; s < net.n_synapses(); ++s) {
        current[net.post[s]] += weights[s] * e_init;
    }
    return current;
}

double branching_factor(const liquid& net, std::span<const std::uint32_t> raster_step,
                        std::span<const std::uint32_t> raster_neuron,
                        const branching_params& params) {
    // The liquid -> liquid part of the network in both directions.
    const std::uint32_t nl = net.n_liquid();
    std::vector<std::uint32_t> out_offset(net.out_offset.begin(), net.out_offset.begin() + nl + 1);
    std::vector<std::uint32_t> out_post(net.post.begin(), net.post.begin() + out_offset[nl]);
    std::vector<std::uint32_t> in_offset(static_cast<std::size_t>(nl) + 1, 0);
    std::vector<std::uint32_t> in_pre;
    for (std::uint32_t i = 0; i < nl; ++i) {
        for (std::uint32_t e = net.in_offset[i]; e < net.in_offset[i + 1]; ++e) {
            if (net.in_pre[e] < nl) {
                in_pre.push_back(net.in_pre[e]);
            }
        }
        in_offset[i + 1] = static_cast<std::uint32_t>(in_pre.size());
    }
    const adjacency graph{in_offset, in_pre, out_offset, out_post};
    return reservoir::branching_factor(graph, nl, raster_step, raster_neuron, params);
}

}  // namespace glia::reservoir::nalsm
