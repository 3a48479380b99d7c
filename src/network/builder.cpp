#include "network/builder.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>
#include <optional>
#include <unordered_map>

#include <fmt/format.h>
#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/partitioner.h>

#include <glia/error.hpp>
#include <glia/rng.hpp>
#include <glia/simulation.hpp>

#include "core/time.hpp"
#include "network/connectivity.hpp"
#include "network/positions.hpp"
#include "network/values.hpp"

namespace glia {
namespace {

[[noreturn]] void fail(const std::string& where, const std::string& what) {
    throw error(located(where) + what);
}

const population_rt& population_named(const std::vector<population_rt>& pops,
                                      const std::string& name, const std::string& where,
                                      std::string_view role) {
    for (const auto& p: pops) {
        if (p.name == name) {
            return p;
        }
    }
    std::string known;
    for (const auto& p: pops) {
        known += (known.empty() ? "" : ", ") + p.name;
    }
    fail(where, fmt::format("{}: no population '{}'; populations are: {}", role, name, known));
}

std::string_view range_text(value_range r) {
    switch (r) {
    case value_range::any: return "";
    case value_range::positive: return "> 0";
    case value_range::non_negative: return ">= 0";
    case value_range::unit_interval: return "in [0, 1]";
    }
    return "";
}

bool in_range(double x, value_range r) {
    switch (r) {
    case value_range::any: return !std::isnan(x);
    case value_range::positive: return x > 0;
    case value_range::non_negative: return x >= 0;
    case value_range::unit_interval: return x >= 0 && x <= 1;
    }
    return false;
}

void check_dimension(const value_spec& v, dimension expected, const std::string& what) {
    if (v.dim != dimension::none && v.dim != expected) {
        fail(v.where, fmt::format("{} must be {} ({}), got {}", what, dimension_name(expected),
                                  canonical_unit(expected), dimension_name(v.dim)));
    }
}

// Delay of a synapse in steps. Constants and list entries must be on the dt grid; draws from a
// distribution are rounded to the nearest step (documented in docs/config_reference.md).
step_t delay_steps(double d, double dt, bool exact, const std::string& where) {
    if (!(d > 0) || !std::isfinite(d)) {
        fail(where, fmt::format("delay must be a finite number > 0 ms, got {}", d));
    }
    step_t n = 0;
    if (exact) {
        if (d < dt && !on_grid(d, dt)) {
            fail(where, fmt::format("delay = {} ms is below dt = {} ms", d, dt));
        }
        if (!on_grid(d, dt)) {
            fail(where, fmt::format("delay = {} ms is not a multiple of dt = {} ms", d, dt));
        }
        n = static_cast<step_t>(std::llround(d / dt));
    } else {
        n = static_cast<step_t>(std::llround(d / dt));
    }
    if (n < 1) {
        fail(where, fmt::format("delay = {} ms is below dt = {} ms", d, dt));
    }
    if (n > std::numeric_limits<std::int32_t>::max()) {
        fail(where, fmt::format("delay = {} ms is too long ({} steps)", d, n));
    }
    return n;
}

void check_delay_spec(const value_spec& d, double dt, const std::string& what) {
    check_dimension(d, dimension::time, what);
    switch (d.type) {
    case value_spec::kind::constant: delay_steps(d.value, dt, true, d.where); return;
    case value_spec::kind::list:
    case value_spec::kind::choice:
        for (double x: d.values) {
            delay_steps(x, dt, true, d.where);
        }
        return;
    case value_spec::kind::uniform:
        if (!(d.low >= 0.5 * dt) || !(d.high > d.low)) {
            fail(d.where, fmt::format("{}: a uniform delay needs dt/2 <= low < high (draws are "
                                      "rounded to the nearest step of dt = {} ms), got [{}, {})",
                                      what, dt, d.low, d.high));
        }
        return;
    case value_spec::kind::normal:
    case value_spec::kind::lognormal:
        if (!(d.min >= 0.5 * dt)) {
            fail(d.where, fmt::format("{}: a {} delay needs min >= dt/2 = {} ms (draws are "
                                      "rounded to the nearest step), got min = {}",
                                      what,
                                      d.type == value_spec::kind::normal ? "normal" : "lognormal",
                                      0.5 * dt, d.min));
        }
        return;
    }
}

value_table lower_params(const population_spec& ps, const model_info& info,
                         std::uint64_t seed, neuron_id first_gid) {
    value_table t(info.params.size());
    for (const auto& [name, v]: ps.params) {
        if (info.param_index(name) == model_info::npos) {
            std::string known;
            for (const auto& p: info.params) {
                known += (known.empty() ? "" : ", ") + p.name;
            }
            fail(v.where.empty() ? ps.where : v.where,
                 fmt::format("population '{}': model {} has no parameter '{}'; parameters are: {}",
                             ps.name, info.name, name, known));
        }
    }
    for (std::size_t i = 0; i < info.params.size(); ++i) {
        const param_info& p = info.params[i];
        const auto it = ps.params.find(p.name);
        if (it == ps.params.end()) {
            if (std::isnan(p.default_value)) {
                fail(ps.where, fmt::format("population '{}': model {} needs parameter '{}' ({})",
                                           ps.name, info.name, p.name, p.doc));
            }
            t.set(i, {p.default_value});
            continue;
        }
        const value_spec& v = it->second;
        const std::string what = fmt::format("populations.{}.params.{}", ps.name, p.name);
        if (p.dim != dimension::flag) {
            check_dimension(v, p.dim, what);
        }
        if (!v.is_constant() && !p.per_neuron) {
            fail(v.where, fmt::format("{} cannot differ between neurons in {}", what, info.name));
        }
        std::vector<double> values = per_neuron_values(v, seed, stream::parameters, i, first_gid,
                                                       ps.size);
        for (double x: values) {
            // An unbounded parameter (V_min defaults to -infinity) may be set to infinity.
            const bool finite_ok = std::isfinite(x) || (std::isinf(x) && std::isinf(p.default_value));
            if (std::isnan(x) || !finite_ok || !in_range(x, p.range)) {
                fail(v.where, fmt::format("{} must be a finite number{}{}, got {}", what,
                                          p.range == value_range::any ? "" : " ",
                                          p.range == value_range::any
                                              ? std::string()
                                              : fmt::format("{} {}", range_text(p.range),
                                                            canonical_unit(p.dim)),
                                          x));
            }
        }
        t.set(i, std::move(values));
    }
    return t;
}

value_table lower_initial(const population_spec& ps, const model_info& info, std::uint64_t seed,
                          neuron_id first_gid) {
    value_table t(info.variables.size());
    for (const auto& [name, v]: ps.initial) {
        const std::size_t i = info.variable_index(name);
        if (i == model_info::npos) {
            std::string known;
            for (const auto& var: info.variables) {
                known += (known.empty() ? "" : ", ") + var.name;
            }
            fail(v.where.empty() ? ps.where : v.where,
                 fmt::format("population '{}': model {} has no state variable '{}'; variables "
                             "are: {}",
                             ps.name, info.name, name, known.empty() ? "(none)" : known));
        }
        check_dimension(v, info.variables[i].dim,
                        fmt::format("populations.{}.initial.{}", ps.name, name));
        std::vector<double> values = per_neuron_values(v, seed, stream::initial_state, i,
                                                       first_gid, ps.size);
        for (double x: values) {
            if (!std::isfinite(x)) {
                fail(v.where, fmt::format("populations.{}.initial.{} must be finite, got {}",
                                          ps.name, name, x));
            }
        }
        t.set(i, std::move(values));
    }
    return t;
}

// Spike times [ms] -> emission steps: a spike at time T is emitted in step T/dt - 1, so that
// its time stamp (step + 1) * dt is T.
std::vector<std::vector<step_t>> spike_steps_of(const population_spec& ps, double dt) {
    std::vector<std::vector<step_t>> out(ps.size);
    if (ps.spike_times.empty()) {
        return out;
    }
    if (ps.spike_times.size() != ps.size) {
        fail(ps.where, fmt::format("population '{}': spike_times has {} lists for {} neurons",
                                   ps.name, ps.spike_times.size(), ps.size));
    }
    for (std::size_t k = 0; k < ps.size; ++k) {
        auto& steps = out[k];
        for (double t: ps.spike_times[k]) {
            if (!(t > 0) || !std::isfinite(t)) {
                fail(ps.where, fmt::format("population '{}': spike time {} ms of neuron {} must be "
                                           "> 0",
                                           ps.name, t, k));
            }
            step_t n = 0;
            if (ps.allow_offgrid_times) {
                n = static_cast<step_t>(std::llround(t / dt));
            } else if (!on_grid(t, dt)) {
                fail(ps.where, fmt::format("population '{}': spike time {} ms of neuron {} is not "
                                           "a multiple of dt = {} ms (set allow_offgrid_times: "
                                           "true to round to the grid)",
                                           ps.name, t, k, dt));
            } else {
                n = static_cast<step_t>(std::llround(t / dt));
            }
            if (n < 1) {
                fail(ps.where, fmt::format("population '{}': spike time {} ms of neuron {} rounds "
                                           "to 0; spikes need t >= dt",
                                           ps.name, t, k));
            }
            steps.push_back(n - 1);
        }
        std::sort(steps.begin(), steps.end());
        if (std::adjacent_find(steps.begin(), steps.end()) != steps.end()) {
            fail(ps.where, fmt::format("population '{}': neuron {} has two spikes in one step of "
                                       "dt = {} ms",
                                       ps.name, k, dt));
        }
    }
    return out;
}

// The tripartite part of a projection (tripartite_spec), lowered.
struct third_rt {
    const population_rt* astro = nullptr;
    std::size_t astro_index = 0;          // population index
    int port = -1;                        // astrocyte port of third_in (-1: by sign)
    double p = 1;
    bool random = true;                   // pool type
    std::uint64_t pool_size = 1;
    std::uint64_t targets_per_astro = 1;  // block pools with pool_size 1
    value_spec in_delay, out_delay;       // resolved: NaN -> the projection's delay
    step_t in_constant_delay = 0, out_constant_delay = 0;  // > 0 for constants
    std::uint64_t pair_key = 0, in_weight_key = 0, in_delay_key = 0;
    std::uint64_t out_weight_key = 0, out_delay_key = 0, pool_key = 0;
};

// A projection after its references and values are checked.
struct projection_rt {
    const projection_spec* spec = nullptr;
    std::size_t index = 0;
    const population_rt* source = nullptr;
    const population_rt* target = nullptr;
    row_kind kind = row_kind::target_major;
    int port = -1;                 // fixed port, or -1: chosen by the weight's sign
    bool delay_exact = true;       // constant or list: checked on the grid
    step_t constant_delay = 0;     // > 0 when the delay is a constant
    std::uint64_t conn_key = 0, weight_key = 0, delay_key = 0;
    const synapse_model* rule = nullptr;  // nullptr: static synapses
    value_table rule_params;
    std::ptrdiff_t modulator = -1;        // index into network::modulators
    bool sic = false;                     // synapse: sic (graded coupling)
    bool has_third = false;               // tripartite: pairs with astrocytes
    third_rt third;
    std::shared_ptr<const distance_sampler> spatial;  // rule distance: the sources, in cells
    // fixed_total_number: the draw of its group (shared by the members), and which member of
    // it this projection is.
    std::shared_ptr<const total_number_draw> total;
    std::size_t total_member = 0;
};

// Refuses weights that port `port` of `info` does not take (port_info::weight_range), as far
// as they are known before drawing: constants, list entries, the bounds of distributions.
void check_weight_range(const value_spec& v, const model_info& info, std::size_t port,
                        const std::string& what) {
    const port_info& pi = info.ports[port];
    const value_range r = pi.weight_range;
    if (r == value_range::any) {
        return;
    }
    const std::string takes = fmt::format("{}: port {} of model {} takes only weights {}", what,
                                          pi.name, info.name, range_text(r));
    const bool upper = r == value_range::unit_interval;
    switch (v.type) {
    case value_spec::kind::constant:
        if (!in_range(v.value, r)) {
            fail(v.where, fmt::format("{}, got {}", takes, v.value));
        }
        return;
    case value_spec::kind::list:
    case value_spec::kind::choice:
        for (std::size_t i = 0; i < v.values.size(); ++i) {
            if (!in_range(v.values[i], r)) {
                fail(v.where, fmt::format("{}, got {} (entry {})", takes, v.values[i], i));
            }
        }
        return;
    case value_spec::kind::uniform:
        if (!in_range(v.low, r) || (upper && !(v.high <= 1))) {
            fail(v.where, fmt::format("{}; a uniform on [{}, {}) draws others", takes, v.low,
                                      v.high));
        }
        return;
    case value_spec::kind::normal:
        if (!in_range(v.min, r) || (upper && !(v.max <= 1))) {
            fail(v.where, fmt::format("{}; a normal needs min{} within that range (draws "
                                      "outside [min, max] are redrawn), got min = {}{}",
                                      takes, upper ? " and max" : "", v.min,
                                      upper ? fmt::format(", max = {}", v.max) : ""));
        }
        return;
    case value_spec::kind::lognormal:  // > 0 already
        if (upper && !(v.max <= 1)) {
            fail(v.where, fmt::format("{}; a lognormal needs max <= 1, got max = {}", takes,
                                      v.max));
        }
        return;
    }
}

int choose_port(const model_info& info, const std::string& receptor, const std::string& where,
                const std::string& what) {
    if (info.ports.empty()) {
        fail(where, fmt::format("{}: model {} takes no spike input", what, info.name));
    }
    if (receptor.empty()) {
        return info.ports_by_sign ? -1 : 0;
    }
    if (info.ports_by_sign) {
        fail(where, fmt::format("{}: model {} chooses the receptor by the sign of the weight "
                                "(>= 0: {}, < 0: {}); remove 'receptor'",
                                what, info.name, info.ports[0].name, info.ports[1].name));
    }
    const std::size_t i = info.port_index(receptor);
    if (i == model_info::npos) {
        std::string known;
        for (const auto& p: info.ports) {
            known += (known.empty() ? "" : ", ") + p.name;
        }
        fail(where, fmt::format("{}: model {} has no receptor '{}'; receptors are: {}", what,
                                info.name, receptor, known));
    }
    return static_cast<int>(i);
}

// Parameters of a plasticity rule: defaults, units, ranges (a rule's values are homogeneous).
value_table lower_rule_params(const projection_spec& ps, const model_info& info,
                              dimension weight_dim, const population_rt& target) {
    value_table t(info.params.size());
    const std::string what = "projections." + ps.name + ".plasticity";
    for (const auto& [name, v]: ps.plasticity) {
        if (info.param_index(name) == model_info::npos) {
            std::string known;
            for (const auto& p: info.params) {
                known += (known.empty() ? "" : ", ") + p.name;
            }
            fail(v.where.empty() ? ps.where : v.where,
                 fmt::format("{}: rule {} has no parameter '{}'; parameters are: {}", what,
                             info.name, name, known));
        }
    }
    for (std::size_t i = 0; i < info.params.size(); ++i) {
        const param_info& p = info.params[i];
        const auto it = ps.plasticity.find(p.name);
        if (it == ps.plasticity.end()) {
            const std::size_t from = p.from_target ? target.model->info.param_index(p.name)
                                                   : model_info::npos;
            if (from != model_info::npos) {
                // The target's value (param_info::from_target), the same for every neuron.
                const double v = target.params.at(from, 0);
                if (!target.params.is_uniform(from)) {
                    for (std::size_t k = 1; k < target.size; ++k) {
                        if (target.params.at(from, k) != v) {
                            fail(ps.where,
                                 fmt::format("{}: rule {} takes {} from the target population "
                                             "'{}', where it differs between neurons; set "
                                             "plasticity.{}",
                                             what, info.name, p.name, target.name, p.name));
                        }
                    }
                }
                t.set(i, {v});
                continue;
            }
            if (std::isnan(p.default_value)) {
                fail(ps.where, fmt::format("{}: rule {} needs parameter '{}' ({})", what, info.name,
                                           p.name, p.doc));
            }
            t.set(i, {p.default_value});
            continue;
        }
        const value_spec& v = it->second;
        const std::string key = what + "." + p.name;
        check_dimension(v, p.weight_unit ? weight_dim : p.dim, key);
        if (!v.is_constant()) {
            fail(v.where, fmt::format("{} must be a single value", key));
        }
        if (!std::isfinite(v.value) || !in_range(v.value, p.range)) {
            fail(v.where, fmt::format("{} must be a finite number{} {}, got {}", key,
                                      p.range == value_range::any ? "" : " ",
                                      range_text(p.range), v.value));
        }
        t.set(i, {v.value});
    }
    return t;
}

// Checks and lowers projection.tripartite (NEST's third_factor_bernoulli_with_pool; the block
// pool rules and their messages follow NEST's ThirdBernoulliWithPoolBuilder).
void lower_tripartite(projection_rt& r, const experiment_spec& spec,
                      const std::vector<population_rt>& pops) {
    const projection_spec& ps = *r.spec;
    const tripartite_spec& tp = ps.tripartite;
    const std::string what = "projections." + ps.name + ".tripartite";
    const std::string& at = tp.where.empty() ? ps.where : tp.where;
    third_rt& t = r.third;
    r.has_third = true;
    if (r.sic) {
        fail(at, fmt::format("{}: a sic projection cannot be paired with astrocytes", what));
    }
    t.astro = &population_named(pops, tp.astrocytes, at, what + ".astrocytes");
    t.astro_index = static_cast<std::size_t>(t.astro - pops.data());
    const model_info& ainfo = t.astro->model->info;
    const model_info& tinfo = r.target->model->info;
    if (!ainfo.emits_graded) {
        fail(at, fmt::format("{}.astrocytes: population '{}' (model {}) has no graded output to "
                             "send to the targets (use an astrocyte model such as "
                             "astrocyte_lr_1994)",
                             what, t.astro->name, ainfo.name));
    }
    if (!tinfo.accepts_current || !tinfo.emits_spikes) {
        fail(at, fmt::format("{}: the target population '{}' (model {}) takes no sic input "
                             "(third_out needs a neuron model that accepts current)",
                             what, r.target->name, tinfo.name));
    }
    if (!(tp.p >= 0 && tp.p <= 1)) {
        fail(at, fmt::format("{}.p must be in [0, 1], got {}", what, tp.p));
    }
    t.p = tp.p;
    t.random = tp.pool_type == tripartite_spec::pool::random;
    const std::uint64_t n_astro = t.astro->size;
    const std::uint64_t n_target = r.target->size;
    t.pool_size = tp.pool_size == 0 ? n_astro : tp.pool_size;
    if (t.pool_size > n_astro) {
        fail(at, fmt::format("{}.pool_size = {} exceeds the {} astrocytes of population '{}' "
                             "(1 <= pool_size <= the astrocyte population's size)",
                             what, t.pool_size, n_astro, t.astro->name));
    }
    if (!t.random) {
        if (t.pool_size == 1) {
            if (n_target % n_astro != 0) {
                fail(at, fmt::format("{}: block pools with pool_size 1 need the target "
                                     "population's size to be a multiple of the astrocyte "
                                     "population's: '{}' has {} neurons, '{}' {} astrocytes "
                                     "(or use pool_type: random)",
                                     what, r.target->name, n_target, t.astro->name, n_astro));
            }
            t.targets_per_astro = n_target / n_astro;
        } else if (n_target * t.pool_size != n_astro) {
            fail(at, fmt::format("{}: block pools with pool_size {} > 1 need (target size) x "
                                 "pool_size == (astrocyte population size): {} x {} = {}, but "
                                 "'{}' has {} astrocytes (or use pool_type: random)",
                                 what, t.pool_size, n_target, t.pool_size,
                                 n_target * t.pool_size, t.astro->name, n_astro));
        }
    }
    const double dt = spec.simulation.dt;
    // third_in: a spike synapse onto the astrocyte's port.
    t.port = choose_port(ainfo, "", at, what + ".third_in");
    const std::string in_w = what + ".third_in.weight";
    const std::string out_w = what + ".third_out.weight";
    auto no_list = [&](const value_spec& v, const std::string& key) {
        if (v.type == value_spec::kind::list) {
            fail(v.where.empty() ? at : v.where,
                 fmt::format("{}: a list needs one value per connection in a known order, and "
                             "the paired connections are only known when they are drawn; use "
                             "a constant or a distribution",
                             key));
        }
    };
    no_list(tp.in_weight, in_w);
    no_list(tp.out_weight, out_w);
    check_dimension(tp.in_weight, ainfo.ports[t.port < 0 ? 0 : t.port].weight_dim, in_w);
    if (t.port >= 0) {
        check_weight_range(tp.in_weight, ainfo, static_cast<std::size_t>(t.port), in_w);
    }
    check_dimension(tp.out_weight, dimension::none, out_w);
    auto resolve_delay = [&](const value_spec& d, const std::string& key) {
        if (d.is_constant() && std::isnan(d.value)) {
            if (ps.delay.type == value_spec::kind::list) {
                fail(at, fmt::format("{}: needed, because the projection's delays are a list",
                                     key));
            }
            return ps.delay;  // the projection's
        }
        no_list(d, key);
        check_delay_spec(d, dt, key);
        return d;
    };
    t.in_delay = resolve_delay(tp.in_delay, what + ".third_in.delay");
    t.out_delay = resolve_delay(tp.out_delay, what + ".third_out.delay");
    // Constants are checked on the grid; draws from distributions are rounded to it.
    t.in_constant_delay = t.in_delay.is_constant()
                              ? delay_steps(t.in_delay.value, dt, true, t.in_delay.where)
                              : 0;
    t.out_constant_delay = t.out_delay.is_constant()
                               ? delay_steps(t.out_delay.value, dt, true, t.out_delay.where)
                               : 0;
    const std::uint64_t seed = spec.simulation.seed;
    const std::uint64_t tag = 8 * static_cast<std::uint64_t>(r.index);
    t.pair_key = stream_key(seed, stream::tripartite, tag);
    t.in_weight_key = stream_key(seed, stream::tripartite, tag + 1);
    t.in_delay_key = stream_key(seed, stream::tripartite, tag + 2);
    t.out_weight_key = stream_key(seed, stream::tripartite, tag + 3);
    t.out_delay_key = stream_key(seed, stream::tripartite, tag + 4);
    t.pool_key = stream_key(seed, stream::tripartite, (std::uint64_t{1} << 32) + t.astro_index);
}

// The draws of fixed_total_number projections (total_number_draw): one per group, members in
// file order; an ungrouped projection is a group of its own. Members must agree on the source,
// the number of pairs (N or density) and allow_multapses; autapses are the members' own affair.
void lower_total_number_groups(std::vector<projection_rt>& projs) {
    using rule = connectivity_spec::rule;
    std::vector<bool> done(projs.size(), false);
    for (std::size_t i = 0; i < projs.size(); ++i) {
        const connectivity_spec& c = projs[i].spec->connectivity;
        if (c.type != rule::fixed_total_number || done[i]) {
            continue;
        }
        std::vector<std::size_t> members{i};
        for (std::size_t j = i + 1; j < projs.size() && !c.group.empty(); ++j) {
            const connectivity_spec& cj = projs[j].spec->connectivity;
            if (cj.type == rule::fixed_total_number && cj.group == c.group) {
                members.push_back(j);
            }
        }
        const projection_rt& first = projs[i];
        const std::string first_name = first.spec->name;
        auto d = std::make_shared<total_number_draw>();
        d->key = first.conn_key;
        d->n_source = first.source->size;
        d->allow_multapses = c.allow_multapses;
        std::uint64_t available = 0;  // distinct pairs
        for (std::size_t j: members) {
            const projection_rt& pr = projs[j];
            const connectivity_spec& cj = pr.spec->connectivity;
            const std::string what = "projections." + pr.spec->name;
            if (pr.source != first.source) {
                fail(pr.spec->where,
                     fmt::format("{}: group '{}' draws its pairs from one source; '{}' has "
                                 "source '{}', '{}' has '{}'",
                                 what, c.group, first_name, first.source->name, pr.spec->name,
                                 pr.source->name));
            }
            if ((cj.density >= 0) != (c.density >= 0) ||
                (c.density >= 0 ? cj.density != c.density : cj.n != c.n)) {
                fail(pr.spec->where,
                     fmt::format("{}: the projections of group '{}' count the pairs of the whole "
                                 "group and must give the same N or density; '{}' and '{}' "
                                 "differ",
                                 what, c.group, first_name, pr.spec->name));
            }
            if (cj.allow_multapses != c.allow_multapses) {
                fail(pr.spec->where,
                     fmt::format("{}: the projections of group '{}' must agree on "
                                 "allow_multapses; '{}' and '{}' differ",
                                 what, c.group, first_name, pr.spec->name));
            }
            const bool no_autapse = pr.source == pr.target && !cj.allow_autapses;
            d->member_begin.push_back(d->member_begin.back() + pr.target->size);
            d->no_autapse.push_back(no_autapse ? 1 : 0);
            available += d->n_source * pr.target->size - (no_autapse ? d->n_source : 0);
        }
        const std::uint64_t n_target = d->member_begin.back();
        d->n = c.density >= 0 ? static_cast<std::uint64_t>(c.density *
                                                           static_cast<double>(d->n_source) *
                                                           static_cast<double>(n_target))
                              : c.n;
        const std::string what = "projections." + first_name;
        const std::string whose =
            members.size() > 1 ? fmt::format(" (group '{}')", c.group) : std::string();
        if (d->n > 0 && available == 0) {
            fail(first.spec->where, fmt::format("{}{}: no candidate pairs", what, whose));
        }
        if (!c.allow_multapses && d->n > available) {
            fail(first.spec->where,
                 fmt::format("{}{}: N = {} without multapses exceeds the {} distinct pairs",
                             what, whose, d->n, available));
        }
        for (std::size_t m = 0; m < members.size(); ++m) {
            projs[members[m]].total = d;
            projs[members[m]].total_member = m;
            done[members[m]] = true;
        }
    }
}

std::vector<projection_rt> lower_projections(const experiment_spec& spec,
                                             const std::vector<population_rt>& pops,
                                             const model_registry& models) {
    using rule = connectivity_spec::rule;
    std::vector<projection_rt> out;
    const double dt = spec.simulation.dt;
    for (std::size_t i = 0; i < spec.projections.size(); ++i) {
        const projection_spec& ps = spec.projections[i];
        const std::string what = "projections." + ps.name;
        projection_rt r;
        r.spec = &ps;
        r.index = i;
        r.source = &population_named(pops, ps.source, ps.where, what + ".source");
        r.target = &population_named(pops, ps.target, ps.where, what + ".target");
        const model_info& sinfo = r.source->model->info;
        const model_info& tinfo = r.target->model->info;
        r.sic = ps.synapse == "sic";
        if (r.sic) {
            if (!sinfo.emits_graded) {
                fail(ps.where, fmt::format("{}.source: synapse: sic needs a source with graded "
                                           "output (astrocytes, e.g. astrocyte_lr_1994); "
                                           "population '{}' (model {}) has none",
                                           what, r.source->name, sinfo.name));
            }
            if (!tinfo.accepts_current || !tinfo.emits_spikes) {
                fail(ps.where, fmt::format("{}.target: population '{}' (model {}) takes no sic "
                                           "input: sic connections need a neuron model that "
                                           "accepts current",
                                           what, r.target->name, tinfo.name));
            }
            if (!ps.receptor.empty()) {
                fail(ps.where, fmt::format("{}.receptor: sic connections have no receptor (the "
                                           "target receives current)",
                                           what));
            }
            check_dimension(ps.weight, dimension::none, what + ".weight");
        } else {
            if (!sinfo.emits_spikes) {
                fail(ps.where, fmt::format("{}.source: population '{}' (model {}) emits no "
                                           "spikes; its output reaches neurons through "
                                           "synapse: sic",
                                           what, r.source->name, sinfo.name));
            }
            r.port = choose_port(tinfo, ps.receptor, ps.where, what);
            check_dimension(ps.weight, tinfo.ports[r.port < 0 ? 0 : r.port].weight_dim,
                            what + ".weight");
            if (r.port >= 0) {
                check_weight_range(ps.weight, tinfo, static_cast<std::size_t>(r.port),
                                   what + ".weight");
            }
        }
        check_delay_spec(ps.delay, dt, what + ".delay");
        if (ps.synapse != "static" && !r.sic) {
            r.rule = models.find_synapse(ps.synapse);
            if (r.rule == nullptr) {
                std::string known;
                for (const auto& n: models.synapse_names()) {
                    known += (known.empty() ? "" : ", ") + n;
                }
                fail(ps.where, fmt::format("{}.synapse: unknown synapse model '{}'; available: {}",
                                           what, ps.synapse, known));
            }
            r.rule_params = lower_rule_params(ps, r.rule->info,
                                              tinfo.ports[r.port < 0 ? 0 : r.port].weight_dim,
                                              *r.target);
            if (r.rule->validate != nullptr) {
                try {
                    r.rule->validate(r.rule_params);
                }
                catch (const error& e) {
                    fail(ps.where, fmt::format("{} ({}): {}", what, r.rule->info.name, e.what()));
                }
            }
        } else if (!ps.plasticity.empty()) {
            fail(ps.where, fmt::format("{}.plasticity: {} synapses have no plasticity "
                                       "parameters (set synapse: to a rule)",
                                       what, ps.synapse));
        }
        const bool takes_modulator = r.rule != nullptr && r.rule->info.needs_modulator;
        const bool needs_modulator =
            takes_modulator && (r.rule->ignores_modulator == nullptr ||
                                !r.rule->ignores_modulator(r.rule_params));
        if (needs_modulator && ps.modulator.empty()) {
            fail(ps.where, fmt::format("{}: rule {} needs a modulator (set modulator: to one of "
                                       "the experiment's modulators)",
                                       what, r.rule->info.name));
        }
        if (!takes_modulator && !ps.modulator.empty()) {
            fail(ps.where, fmt::format("{}.modulator: synapse model {} takes no modulator", what,
                                       ps.synapse));
        }
        if (!ps.modulator.empty()) {
            for (std::size_t m = 0; m < spec.modulators.size(); ++m) {
                if (spec.modulators[m].name == ps.modulator) {
                    r.modulator = static_cast<std::ptrdiff_t>(m);
                }
            }
            if (r.modulator < 0) {
                std::string known;
                for (const auto& m: spec.modulators) {
                    known += (known.empty() ? "" : ", ") + m.name;
                }
                fail(ps.where, fmt::format("{}.modulator: no modulator '{}'; modulators are: {}",
                                           what, ps.modulator, known.empty() ? "(none)" : known));
            }
            // The rule reads events or a level; the modulator must make that.
            const auto& type = spec.modulators[static_cast<std::size_t>(r.modulator)].type;
            const modulator_model* mm = models.find_modulator(type);
            if (mm != nullptr && mm->output != r.rule->reads) {
                const auto kind = [](modulator_output o) {
                    return o == modulator_output::level ? "a level (e.g. nalsm_astrocyte)"
                                                        : "events (e.g. volume_transmitter)";
                };
                fail(ps.where, fmt::format("{}.modulator: rule {} reads {}; '{}' is a {}, which "
                                           "makes {}",
                                           what, r.rule->info.name, kind(r.rule->reads),
                                           ps.modulator, mm->info.name, kind(mm->output)));
            }
        }
        const auto& c = ps.connectivity;
        r.kind = row_kind_of(c.type);
        const std::size_t ns = r.source->size;
        const std::size_t nt = r.target->size;
        const bool same = r.source == r.target;
        if (c.type == rule::pairwise_bernoulli && !(c.p >= 0 && c.p <= 1)) {
            fail(ps.where, fmt::format("{}.p must be in [0, 1], got {}", what, c.p));
        }
        if (c.type == rule::one_to_one && ns != nt) {
            fail(ps.where, fmt::format("{}: one_to_one needs populations of equal size, got {} "
                                       "and {}",
                                       what, ns, nt));
        }
        const std::size_t candidates_in = same && !c.allow_autapses ? ns - 1 : ns;
        const std::size_t candidates_out = same && !c.allow_autapses ? nt - 1 : nt;
        if (c.type == rule::fixed_indegree && !c.allow_multapses && c.n > candidates_in) {
            fail(ps.where, fmt::format("{}: indegree {} without multapses needs at least {} "
                                       "candidate sources, there are {}",
                                       what, c.n, c.n, candidates_in));
        }
        if (c.type == rule::fixed_outdegree && !c.allow_multapses && c.n > candidates_out) {
            fail(ps.where, fmt::format("{}: outdegree {} without multapses needs at least {} "
                                       "candidate targets, there are {}",
                                       what, c.n, c.n, candidates_out));
        }
        if (c.type == rule::distance) {
            if (!(c.C >= 0 && c.C <= 1)) {
                fail(ps.where, fmt::format("{}.C must be in [0, 1], got {}", what, c.C));
            }
            if (!(c.lambda > 0) || !std::isfinite(c.lambda)) {
                fail(ps.where, fmt::format("{}.lambda must be a finite number > 0, got {}", what,
                                           c.lambda));
            }
            for (const population_rt* pop: {r.source, r.target}) {
                if (pop->positions.empty()) {
                    fail(ps.where, fmt::format("{}: rule distance needs positions for the source "
                                               "and the target; population '{}' has none (give "
                                               "it positions: {{grid: NAME}} or a list)",
                                               what, pop->name));
                }
            }
            r.spatial = std::make_shared<const distance_sampler>(r.source->positions, c.C,
                                                                 c.lambda);
        }
        if (c.type == rule::fixed_total_number && c.density >= 0 && !(c.density <= 1)) {
            fail(ps.where, fmt::format("{}.density must be in [0, 1], got {}", what, c.density));
        }
        if (c.type != rule::fixed_total_number && !c.group.empty()) {
            fail(ps.where, fmt::format("{}.group applies only to rule fixed_total_number", what));
        }
        if ((c.type == rule::fixed_indegree || c.type == rule::fixed_outdegree ||
             c.type == rule::fixed_total_number || c.type == rule::all_to_all) &&
            ((c.type == rule::fixed_indegree && candidates_in == 0 && c.n > 0) ||
             (c.type == rule::fixed_outdegree && candidates_out == 0 && c.n > 0))) {
            fail(ps.where, fmt::format("{}: no candidate partners", what));
        }
        if (c.type == rule::from_list) {
            for (const auto& e: c.edges) {
                if (e.source >= ns || e.target >= nt) {
                    fail(ps.where, fmt::format("{}: connection [{}, {}] is outside the populations "
                                               "(sizes {} and {})",
                                               what, e.source, e.target, ns, nt));
                }
                if (!std::isnan(e.delay)) {
                    delay_steps(e.delay, dt, true, ps.where);
                }
                if (!std::isnan(e.weight) && !r.sic && r.port >= 0) {
                    check_weight_range(value_spec::constant_of(e.weight), tinfo,
                                       static_cast<std::size_t>(r.port),
                                       fmt::format("{}: connection [{}, {}]", what, e.source,
                                                   e.target));
                }
            }
        }
        const bool weight_list = ps.weight.type == value_spec::kind::list;
        const bool delay_list = ps.delay.type == value_spec::kind::list;
        if (weight_list || delay_list) {
            std::size_t expected = 0;
            if (c.type == rule::one_to_one) {
                expected = same && !c.allow_autapses ? 0 : nt;
            } else if (c.type == rule::all_to_all) {
                expected = nt * candidates_in;
            } else if (c.type == rule::from_list) {
                expected = c.edges.size();
            } else {
                fail(ps.where, fmt::format("{}: lists of weights or delays need a rule with a "
                                           "known synapse order (all_to_all, one_to_one, "
                                           "from_list)",
                                           what));
            }
            for (const value_spec* v: {&ps.weight, &ps.delay}) {
                if (v->type == value_spec::kind::list && v->values.size() != expected) {
                    fail(v->where, fmt::format("{}: the list has {} values for {} synapses", what,
                                               v->values.size(), expected));
                }
            }
        }
        r.delay_exact = ps.delay.is_constant() || delay_list;
        r.constant_delay = ps.delay.is_constant() ? delay_steps(ps.delay.value, dt, true,
                                                                ps.delay.where)
                                                  : 0;
        r.conn_key = stream_key(spec.simulation.seed, stream::connectivity, i);
        r.weight_key = stream_key(spec.simulation.seed, stream::synapse_weights, i);
        r.delay_key = stream_key(spec.simulation.seed, stream::synapse_delays, i);
        if (ps.tripartite.enabled) {
            lower_tripartite(r, spec, pops);
        }
        out.push_back(std::move(r));
    }
    lower_total_number_groups(out);
    return out;
}

// The parameters of a modulator: defaults, units, ranges; `components` values for parameters
// that have several (a nalsm_astrocyte's regions per axis: a list, or one number for all).
value_table lower_modulator_params(const modulator_spec& ms, const model_info& info) {
    value_table t(info.params.size());
    const std::string what = "modulators." + ms.name;
    for (const auto& [name, v]: ms.params) {
        if (info.param_index(name) == model_info::npos) {
            std::string known;
            for (const auto& p: info.params) {
                known += (known.empty() ? "" : ", ") + p.name;
            }
            fail(v.where.empty() ? ms.where : v.where,
                 fmt::format("{}: modulator {} has no parameter '{}'; parameters are: {}", what,
                             info.name, name, known.empty() ? "(none)" : known));
        }
    }
    for (std::size_t i = 0; i < info.params.size(); ++i) {
        const param_info& p = info.params[i];
        const std::size_t n = std::max<std::size_t>(1, p.components);
        const auto it = ms.params.find(p.name);
        if (it == ms.params.end()) {
            if (std::isnan(p.default_value)) {
                fail(ms.where, fmt::format("{}: modulator {} needs parameter '{}' ({})", what,
                                           info.name, p.name, p.doc));
            }
            t.set(i, std::vector<double>(n, p.default_value));
            continue;
        }
        const value_spec& v = it->second;
        const std::string key = what + "." + p.name;
        check_dimension(v, p.dim, key);
        std::vector<double> values;
        if (v.type == value_spec::kind::list && n > 1 && v.values.size() == n) {
            values = v.values;
        } else if (v.is_constant()) {
            values.assign(n, v.value);
        } else {
            fail(v.where, n > 1 ? fmt::format("{} must be a number or a list of {}", key, n)
                                : fmt::format("{} must be a single value", key));
        }
        for (double x: values) {
            if (!std::isfinite(x) || !in_range(x, p.range)) {
                fail(v.where, fmt::format("{} must be a finite number{} {}, got {}", key,
                                          p.range == value_range::any ? "" : " ",
                                          range_text(p.range), x));
            }
        }
        t.set(i, std::move(values));
    }
    return t;
}

std::vector<network::modulator> lower_modulators(const experiment_spec& spec,
                                                 const std::vector<population_rt>& pops,
                                                 const model_registry& models) {
    std::vector<network::modulator> out;
    std::size_t n_neurons = 0;
    for (const auto& p: pops) {
        n_neurons = std::max<std::size_t>(n_neurons, p.first_gid + p.size);
    }
    for (const auto& ms: spec.modulators) {
        const std::string what = "modulators." + ms.name;
        const modulator_model* model = models.find_modulator(ms.type);
        if (model == nullptr) {
            std::string known;
            for (const auto& n: models.modulator_names()) {
                known += (known.empty() ? "" : ", ") + n;
            }
            fail(ms.where, fmt::format("{}.type: no modulator model '{}'; models are: {}", what,
                                       ms.type, known));
        }
        const value_table params = lower_modulator_params(ms, model->info);
        // Roles: population lists, each population at most once over all of them.
        std::vector<std::vector<std::string>> role_names(model->roles.size());
        std::vector<std::vector<population_ref>> roles(model->roles.size());
        std::vector<std::string> seen;
        for (const auto& [role, names]: ms.roles) {
            std::size_t r = model->roles.size();
            for (std::size_t k = 0; k < model->roles.size(); ++k) {
                if (model->roles[k].name == role) {
                    r = k;
                }
            }
            if (r == model->roles.size()) {
                fail(ms.where, fmt::format("{}: modulator {} reads no population list '{}'", what,
                                           model->info.name, role));
            }
            for (const std::string& name: names) {
                const population_rt& pop =
                    population_named(pops, name, ms.where, what + "." + role);
                if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
                    fail(ms.where, fmt::format("{}.{}: population '{}' is listed twice (each "
                                               "population at most once in a modulator)",
                                               what, role, name));
                }
                seen.push_back(name);
                if (!pop.model->info.emits_spikes) {
                    fail(ms.where, fmt::format("{}.{}: population '{}' (model {}) emits no "
                                               "spikes",
                                               what, role, pop.name, pop.model->info.name));
                }
                role_names[r].push_back(name);
                roles[r].push_back(population_ref{pop.name, pop.first_gid, pop.size,
                                                  std::span<const position>(pop.positions)});
            }
        }
        if (!model->takes_events && !ms.times.empty()) {
            fail(ms.where, fmt::format("{}: modulator {} takes no scripted events (times)", what,
                                       model->info.name));
        }
        if (ms.times.size() != ms.amounts.size()) {
            fail(ms.where, fmt::format("{}: {} times but {} amounts", what, ms.times.size(),
                                       ms.amounts.size()));
        }
        if (model->validate != nullptr) {
            try {
                model->validate(params, role_names);
            }
            catch (const error& e) {
                fail(ms.where, fmt::format("{} ({}): {}", what, model->info.name, e.what()));
            }
        }
        modulator_args args{model->info, params, roles, ms.times, ms.amounts,
                            spec.simulation.dt, spec.simulation.seed, out.size(), n_neurons};
        network::modulator m;
        m.name = ms.name;
        m.model = model;
        try {
            m.block = model->make_block(args);
        }
        catch (const error& e) {
            fail(ms.where, fmt::format("{} ({}): {}", what, model->info.name, e.what()));
        }
        if (m.block->records_level()) {
            for (const auto& p: pops) {
                if (p.name == ms.name && !p.model->info.emits_spikes) {
                    fail(ms.where, fmt::format("{}: the astrocyte population '{}' has the same "
                                               "name; both would be written under /astrocytes/{} "
                                               "(rename one)",
                                               what, p.name, p.name));
                }
            }
        }
        out.push_back(std::move(m));
    }
    return out;
}

void check_inputs(const experiment_spec& spec, const std::vector<population_rt>& pops) {
    using kind = input_spec::kind;
    for (const auto& in: spec.inputs) {
        const std::string what = "inputs." + in.name;
        const population_rt& tgt = population_named(pops, in.target, in.where, what + ".target");
        const model_info& info = tgt.model->info;
        for (neuron_id n: in.neurons) {
            if (n >= tgt.size) {
                fail(in.where, fmt::format("{}: neuron {} is outside population '{}' (size {})",
                                           what, n, tgt.name, tgt.size));
            }
        }
        if (!(in.start >= 0) || !(in.stop > in.start)) {
            fail(in.where, fmt::format("{}: needs 0 <= start < stop, got start = {} ms, stop = {} "
                                       "ms",
                                       what, in.start, in.stop));
        }
        if (in.type == kind::poisson_generator || in.type == kind::dataset_source) {
            const int port = choose_port(info, in.receptor, in.where, what);
            const dimension wd = info.ports[port < 0 ? 0 : port].weight_dim;
            if (in.weight_dim != dimension::none && in.weight_dim != wd) {
                fail(in.where, fmt::format("{}.weight must be {} ({}), got {}", what,
                                           dimension_name(wd), canonical_unit(wd),
                                           dimension_name(in.weight_dim)));
            }
            if (!(in.rate >= 0) || !std::isfinite(in.rate)) {
                fail(in.where, fmt::format("{}.rate must be a finite rate >= 0 Hz, got {}", what,
                                           in.rate));
            }
            if (!std::isfinite(in.weight)) {
                fail(in.where, fmt::format("{}.weight must be finite, got {}", what, in.weight));
            }
            if (port >= 0) {
                value_spec w = value_spec::constant_of(in.weight);
                w.where = in.where;
                check_weight_range(w, info, static_cast<std::size_t>(port), what + ".weight");
            }
        } else {
            if (!info.accepts_current) {
                fail(in.where, fmt::format("{}: model {} takes no external current", what,
                                           info.name));
            }
            if (in.type == kind::step_current_generator) {
                if (in.times.size() != in.amplitudes.size()) {
                    fail(in.where, fmt::format("{}: {} times but {} amplitudes", what,
                                               in.times.size(), in.amplitudes.size()));
                }
                for (std::size_t k = 0; k < in.times.size(); ++k) {
                    to_steps(in.times[k], spec.simulation.dt, what + ".times");
                    if (k > 0 && !(in.times[k] > in.times[k - 1])) {
                        fail(in.where, fmt::format("{}.times must increase strictly", what));
                    }
                }
            }
            if (in.type == kind::noise_generator && !(in.std >= 0)) {
                fail(in.where, fmt::format("{}.std must be >= 0 pA, got {}", what, in.std));
            }
        }
    }
}

std::vector<report_layout> lower_reports(const experiment_spec& spec,
                                         const std::vector<population_rt>& pops,
                                         step_t n_steps) {
    std::vector<report_layout> out;
    const double dt = spec.simulation.dt;
    for (const auto& rs: spec.record.reports) {
        const std::string what = "record.reports." + rs.name;
        const population_rt& pop = population_named(pops, rs.population, rs.where,
                                                    what + ".population");
        const model_info& info = pop.model->info;
        const std::size_t var = info.variable_index(rs.variable);
        if (var == model_info::npos) {
            std::string known;
            for (const auto& v: info.variables) {
                known += (known.empty() ? "" : ", ") + v.name;
            }
            fail(rs.where, fmt::format("{}: model {} has no variable '{}'; variables are: {}",
                                       what, info.name, rs.variable,
                                       known.empty() ? "(none)" : known));
        }
        report_layout r;
        r.name = rs.name;
        r.population = static_cast<std::size_t>(&pop - pops.data());
        r.variable = rs.variable;
        r.unit = std::string(canonical_unit(info.variables[var].dim));
        if (rs.neurons.empty()) {
            r.node_ids.resize(pop.size);
            std::iota(r.node_ids.begin(), r.node_ids.end(), neuron_id{0});
        } else {
            r.node_ids = rs.neurons;
            std::sort(r.node_ids.begin(), r.node_ids.end());
            r.node_ids.erase(std::unique(r.node_ids.begin(), r.node_ids.end()), r.node_ids.end());
            if (r.node_ids.back() >= pop.size) {
                fail(rs.where, fmt::format("{}: neuron {} is outside population '{}' (size {})",
                                           what, r.node_ids.back(), pop.name, pop.size));
            }
        }
        r.interval_steps = rs.interval > 0 ? to_steps(rs.interval, dt, what + ".interval") : 1;
        if (r.interval_steps < 1) {
            fail(rs.where, fmt::format("{}.interval must be >= dt = {} ms", what, dt));
        }
        if (!(rs.start >= 0) || !(rs.stop > rs.start)) {
            fail(rs.where, fmt::format("{}: needs 0 <= start < stop, got {} and {} ms", what,
                                       rs.start, rs.stop));
        }
        r.start_step = first_step_at_or_after(rs.start, dt, n_steps);
        const step_t stop = first_step_at_or_after(rs.stop, dt, n_steps);
        r.n_frames = stop > r.start_step
                         ? static_cast<std::size_t>((stop - r.start_step + r.interval_steps - 1) /
                                                    r.interval_steps)
                         : 0;
        out.push_back(std::move(r));
    }
    return out;
}

// Partition boundaries: P nearly equal ranges of global ids.
std::vector<neuron_id> partition_bounds(std::size_t n, int p) {
    std::vector<neuron_id> b(static_cast<std::size_t>(p) + 1);
    for (int k = 0; k <= p; ++k) {
        // n < 2^32 and p < 2^31, so the product fits in 64 bits.
        b[static_cast<std::size_t>(k)] = static_cast<neuron_id>(
            static_cast<std::uint64_t>(n) * static_cast<std::uint64_t>(k) /
            static_cast<std::uint64_t>(p));
    }
    return b;
}

// The arrays of one compressed-row synapse structure (the static store, or one plastic
// projection's synapses) that the builder fills.
template <typename Weight>
struct csr_refs {
    std::vector<std::uint32_t>& row_segment;
    std::vector<std::uint32_t>& segment_delay;
    std::vector<std::uint32_t>& segment_begin;
    std::vector<std::uint32_t>& slot;
    std::vector<Weight>& weight;
};

// One source of spike synapses for a compressed-row store: a projection's own synapses, or
// the third_in synapses (presynaptic neuron -> astrocyte) of a tripartite projection.
struct synapse_job {
    const projection_rt* pr = nullptr;
    bool third_in = false;
};

// A sic connection while a partition's sic store is assembled.
struct sic_entry {
    std::uint32_t delay = 0;   // [steps]
    std::uint32_t neuron = 0;  // partition neuron index of the target
    std::uint32_t column = 0;  // graded column of the source
    double weight = 0;
    neuron_id source = 0;      // global id
};

// The random astrocyte pool of one target (tripartite_spec): a partial Fisher-Yates shuffle
// of the astrocyte population drawn from the stream (pool key, target gid), extended only as
// far as asked. Member j does not depend on the pool size (a smaller pool is a prefix of a
// larger one), nor on the projection: projections onto the same target with the same
// astrocytes share the pool.
class pool_cache {
public:
    std::uint32_t member(std::uint64_t key, std::uint64_t n, neuron_id target, std::uint64_t j) {
        if (!rng_ || key != key_ || target != target_) {
            key_ = key;
            target_ = target;
            rng_.emplace(key, target, 0);
            swapped_.clear();
            members_.clear();
        }
        while (members_.size() <= j) {
            const std::uint64_t i = members_.size();
            const std::uint64_t r = i + rng_->below(n - i);
            const std::uint32_t at_r = at(r);
            swapped_[r] = at(i);  // position i is never read again
            members_.push_back(at_r);
        }
        return members_[j];
    }

private:
    std::uint32_t at(std::uint64_t pos) const {
        const auto it = swapped_.find(pos);
        return it == swapped_.end() ? static_cast<std::uint32_t>(pos) : it->second;
    }

    std::uint64_t key_ = 0;
    neuron_id target_ = 0;
    std::optional<rng_stream> rng_;
    std::unordered_map<std::uint64_t, std::uint32_t> swapped_;  // the shuffle's moved entries
    std::vector<std::uint32_t> members_;
};

// Builds the incoming synapses of one partition in three passes: count the synapses of every
// source row, fill the rows (regenerating the same draws), then cut every row into delay
// segments. Peak memory: 12 bytes per synapse, 8 of which remain.
// The block of population `pop` in partition `part` (populations are contiguous id ranges,
// partitions too: at most one block each); nullptr if the partition holds none of it.
const block_slot* block_of(const partition& part, const network& net, const population_rt* pop) {
    for (const auto& b: part.blocks) {
        if (&net.populations[b.population] == pop) {
            return &b;
        }
    }
    return nullptr;
}

class synapse_builder {
public:
    synapse_builder(partition& part, const network& net) : part_(part), net_(net) {}

    template <typename Weight>
    void build(const std::vector<synapse_job>& jobs, csr_refs<Weight> out) {
        std::vector<std::uint32_t> row_start(net_.n_neurons + 1, 0);
        for (const synapse_job& job: jobs) {
            run(job, false, [&](neuron_id src, std::uint32_t, std::uint32_t, double, step_t) {
                ++row_start[src + 1];
            });
        }
        std::uint64_t total = 0;
        for (std::size_t s = 1; s <= net_.n_neurons; ++s) {
            total += row_start[s];
            if (total > std::numeric_limits<std::uint32_t>::max() - 1) {
                throw error(fmt::format("partition of neurons [{}, {}) would hold more than 2^32 "
                                        "synapses; use more partitions",
                                        part_.first_gid, part_.end_gid));
            }
            row_start[s] = static_cast<std::uint32_t>(total);
        }
        out.slot.resize(total);
        out.weight.resize(total);
        std::vector<std::uint32_t> delay(total);
        std::vector<std::uint32_t> fill(row_start.begin(), row_start.end() - 1);
        for (const synapse_job& job: jobs) {
            run(job, true,
                [&](neuron_id src, std::uint32_t, std::uint32_t slot, double w, step_t d) {
                    const std::uint32_t k = fill[src]++;
                    out.slot[k] = slot;
                    out.weight[k] = static_cast<Weight>(w);
                    delay[k] = static_cast<std::uint32_t>(d);
                });
        }
        cut_segments(row_start, delay, out);
    }

    // Appends the sic connections onto this partition's neurons of projection `pr` (a sic
    // projection, or the third_out connections of a tripartite one), in canonical order.
    template <typename Out>
    void collect_sic(const projection_rt& pr, Out& out) {
        const population_rt& tgt = *pr.target;
        auto neuron_of = [&](std::uint32_t t) {
            return static_cast<std::uint32_t>(tgt.first_gid + t - part_.first_gid);
        };
        if (pr.sic) {
            const population_rt& src = *pr.source;
            const std::size_t col0 = net_.graded_offset[static_cast<std::size_t>(
                &src - net_.populations.data())];
            generate(pr, true,
                     [&](neuron_id s, std::uint32_t t, std::uint32_t, double w, step_t d) {
                         out.add(sic_entry{static_cast<std::uint32_t>(d), neuron_of(t),
                                           static_cast<std::uint32_t>(col0 + (s - src.first_gid)),
                                           w, s});
                     });
        }
        if (!pr.has_third) {
            return;
        }
        const neuron_id lo = std::max(tgt.first_gid, part_.first_gid);
        const neuron_id hi = std::min(static_cast<neuron_id>(tgt.first_gid + tgt.size),
                                      part_.end_gid);
        if (lo >= hi) {
            return;
        }
        const third_rt& th = pr.third;
        const std::size_t col0 = net_.graded_offset[th.astro_index];
        const tripartite_spec& tp = pr.spec->tripartite;
        enumerate(pr, lo - tgt.first_gid, hi - tgt.first_gid,
                  [&](std::uint32_t, std::uint32_t t, std::uint32_t row, std::uint64_t index) {
                      const std::int64_t a = paired_astro(th, tgt.first_gid, t, row, index);
                      if (a < 0) {
                          return;
                      }
                      rng_stream wr(th.out_weight_key, row, index);
                      const double w = draw_value(tp.out_weight, wr, 0);
                      step_t d = th.out_constant_delay;
                      if (d == 0) {
                          rng_stream dr(th.out_delay_key, row, index);
                          d = delay_steps(draw_value(th.out_delay, dr, 0), net_.dt, false,
                                          th.out_delay.where);
                      }
                      out.add(sic_entry{static_cast<std::uint32_t>(d), neuron_of(t),
                                        static_cast<std::uint32_t>(
                                            col0 + static_cast<std::size_t>(a)),
                                        w, static_cast<neuron_id>(th.astro->first_gid + a)});
                  });
    }

private:
    template <typename Emit>
    void run(const synapse_job& job, bool values, Emit emit) {
        if (job.third_in) {
            generate_third_in(*job.pr, values, emit);
        } else {
            generate(*job.pr, values, emit);
        }
    }

    // The partners of target t (population-local) of a target-major projection into partners_.
    void target_row(const projection_rt& pr, std::uint32_t t, bool same, rng_stream& conn) {
        const connectivity_spec& c = pr.spec->connectivity;
        if (pr.spatial) {
            const std::size_t skip = same && !c.allow_autapses ? t : pr.source->size;
            pr.spatial->partners(pr.target->positions[t], skip, conn, scratch_, partners_);
        } else {
            row_partners(c, pr.source->size, t, same, conn, scratch_, partners_);
        }
    }

    // The astrocyte (population-local) paired with connection (row, index) of a tripartite
    // projection onto population-local target t, or -1 if the connection is not paired:
    // pairing with probability p, then a pool member drawn uniformly (NEST's
    // ThirdBernoulliWithPoolBuilder::third_connect), all from the stream (row, index).
    std::int64_t paired_astro(const third_rt& th, neuron_id target_first_gid, std::uint32_t t,
                              std::uint32_t row, std::uint64_t index) {
        rng_stream rng(th.pair_key, row, index);
        if (!(rng.uniform() < th.p)) {
            return -1;
        }
        const std::uint64_t j = th.pool_size == 1 ? 0 : rng.below(th.pool_size);
        if (!th.random) {
            return th.pool_size == 1 ? static_cast<std::int64_t>(t / th.targets_per_astro)
                                     : static_cast<std::int64_t>(t * th.pool_size + j);
        }
        return pool_.member(th.pool_key, th.astro->size, target_first_gid + t, j);
    }

    // Calls visit(source, target, row, index) (population-local ids) for every connection of
    // pr's connectivity whose target lies in [t_lo, t_hi), in canonical order; (row, index)
    // are the coordinates of the connection's tripartite draws: its connectivity row (target,
    // or source for fixed_outdegree, 0 for whole-projection rules) and its place in the row.
    template <typename Visit>
    void enumerate(const projection_rt& pr, std::uint32_t t_lo, std::uint32_t t_hi,
                   Visit visit) {
        const population_rt& src = *pr.source;
        const population_rt& tgt = *pr.target;
        const connectivity_spec& c = pr.spec->connectivity;
        const bool same = &src == &tgt;
        switch (pr.kind) {
        case row_kind::target_major:
            for (std::uint32_t t = t_lo; t < t_hi; ++t) {
                rng_stream conn(pr.conn_key, t, 0);
                target_row(pr, t, same, conn);
                for (std::size_t k = 0; k < partners_.size(); ++k) {
                    visit(partners_[k], t, t, k);
                }
            }
            return;
        case row_kind::source_major:
            for (std::uint32_t s = 0; s < src.size; ++s) {
                rng_stream conn(pr.conn_key, s, 0);
                row_partners(c, tgt.size, s, same, conn, scratch_, partners_);
                for (std::size_t k = 0; k < partners_.size(); ++k) {
                    if (partners_[k] >= t_lo && partners_[k] < t_hi) {
                        visit(s, partners_[k], s, k);
                    }
                }
            }
            return;
        case row_kind::whole:
            if (c.type == connectivity_spec::rule::fixed_total_number) {
                rng_stream conn(pr.total->key, 0, 0);
                std::uint64_t i = 0;  // index among this projection's pairs
                total_number_pairs(*pr.total, conn,
                                   [&](std::uint32_t s, std::size_t m, std::uint32_t t) {
                                       if (m != pr.total_member) {
                                           return;
                                       }
                                       if (t >= t_lo && t < t_hi) {
                                           visit(s, t, 0, i);
                                       }
                                       ++i;
                                   });
            } else {
                for (std::size_t i = 0; i < c.edges.size(); ++i) {
                    const edge_spec& e = c.edges[i];
                    if (e.target >= t_lo && e.target < t_hi) {
                        visit(e.source, e.target, 0, i);
                    }
                }
            }
            return;
        }
    }

    // Calls emit(source gid, astrocyte, input slot, weight, delay steps) for every third_in
    // synapse of tripartite projection `pr` onto an astrocyte of this partition. Every
    // partition holding astrocytes regenerates the whole primary connectivity: the pairing of
    // a connection is drawn where its target is, but the synapse lives where its astrocyte is.
    template <typename Emit>
    void generate_third_in(const projection_rt& pr, bool values, Emit emit) {
        const third_rt& th = pr.third;
        const population_rt& astro = *th.astro;
        const population_rt& src = *pr.source;
        const population_rt& tgt = *pr.target;
        const neuron_id lo = std::max(astro.first_gid, part_.first_gid);
        const neuron_id hi = std::min(static_cast<neuron_id>(astro.first_gid + astro.size),
                                      part_.end_gid);
        if (lo >= hi) {
            return;
        }
        const block_slot* blk = block_of(part_, net_, &astro);
        if (blk == nullptr || blk->first_gid != lo) {
            throw internal_error("synapse_builder: no block for the astrocyte range");
        }
        const std::int64_t a_lo = lo - astro.first_gid;
        const std::int64_t a_hi = hi - astro.first_gid;
        const tripartite_spec& tp = pr.spec->tripartite;
        enumerate(pr, 0, static_cast<std::uint32_t>(tgt.size),
                  [&](std::uint32_t s, std::uint32_t t, std::uint32_t row, std::uint64_t index) {
                      const std::int64_t a = paired_astro(th, tgt.first_gid, t, row, index);
                      if (a < a_lo || a >= a_hi) {
                          return;
                      }
                      double w = 0;
                      step_t d = 0;
                      if (values) {
                          rng_stream wr(th.in_weight_key, row, index);
                          w = draw_value(tp.in_weight, wr, 0);
                          d = th.in_constant_delay;
                          if (d == 0) {
                              rng_stream dr(th.in_delay_key, row, index);
                              d = delay_steps(draw_value(th.in_delay, dr, 0), net_.dt, false,
                                              th.in_delay.where);
                          }
                      }
                      const std::size_t port = th.port >= 0 ? static_cast<std::size_t>(th.port)
                                                            : (w < 0 ? 1 : 0);
                      const auto gid = static_cast<neuron_id>(astro.first_gid + a);
                      emit(src.first_gid + s, static_cast<std::uint32_t>(a),
                           static_cast<std::uint32_t>(blk->input_offset +
                                                      (gid - blk->first_gid) * blk->n_ports +
                                                      port),
                           w, d);
                  });
    }

    // Calls emit(source gid, target, input slot, weight, delay steps) for every synapse of
    // projection `pr` whose target is in this partition, in the projection's canonical order
    // (target: population-local). Without values (the counting pass) weight and delay are 0
    // and not drawn.
    template <typename Emit>
    void generate(const projection_rt& pr, bool values, Emit emit) {
        const population_rt& src = *pr.source;
        const population_rt& tgt = *pr.target;
        const projection_spec& ps = *pr.spec;
        const neuron_id lo = std::max(tgt.first_gid, part_.first_gid);
        const neuron_id hi = std::min(static_cast<neuron_id>(tgt.first_gid + tgt.size),
                                      part_.end_gid);
        if (lo >= hi) {
            return;
        }
        const block_slot* blk = block_of(part_, net_, &tgt);
        if (blk == nullptr || blk->first_gid != lo) {
            throw internal_error("synapse_builder: no block for the target range");
        }
        const bool same = &src == &tgt;
        // Slot of (population-local target t, weight w).
        auto slot_of = [&](std::uint32_t t, double w) {
            const std::size_t port = blk->split_port ? (w < 0 ? 1 : 0)
                                     : pr.port >= 0  ? static_cast<std::size_t>(pr.port)
                                                     : (w < 0 ? 1 : 0);
            return static_cast<std::uint32_t>(blk->input_offset +
                                              (tgt.first_gid + t - blk->first_gid) * blk->n_ports +
                                              port);
        };
        auto draw = [&](rng_stream& wr, rng_stream& dr, std::size_t index, double& w, step_t& d) {
            w = draw_value(ps.weight, wr, index);
            d = pr.constant_delay > 0
                    ? pr.constant_delay
                    : delay_steps(draw_value(ps.delay, dr, index), net_.dt, pr.delay_exact,
                                  ps.delay.where);
        };
        const std::uint32_t t_lo = lo - tgt.first_gid;
        const std::uint32_t t_hi = hi - tgt.first_gid;
        switch (pr.kind) {
        case row_kind::target_major:
            for (std::uint32_t t = t_lo; t < t_hi; ++t) {
                rng_stream conn(pr.conn_key, t, 0);
                target_row(pr, t, same, conn);
                rng_stream wr(pr.weight_key, t, 0);
                rng_stream dr(pr.delay_key, t, 0);
                const std::size_t base = ps.connectivity.type == connectivity_spec::rule::one_to_one
                                             ? t
                                             : static_cast<std::size_t>(t) * partners_.size();
                for (std::size_t k = 0; k < partners_.size(); ++k) {
                    double w = 0;
                    step_t d = 0;
                    if (values) {
                        draw(wr, dr, base + k, w, d);
                    }
                    emit(src.first_gid + partners_[k], t, slot_of(t, w), w, d);
                }
            }
            return;
        case row_kind::source_major:
            for (std::uint32_t s = 0; s < src.size; ++s) {
                rng_stream conn(pr.conn_key, s, 0);
                row_partners(ps.connectivity, tgt.size, s, same, conn, scratch_, partners_);
                rng_stream wr(pr.weight_key, s, 0);
                rng_stream dr(pr.delay_key, s, 0);
                for (std::size_t k = 0; k < partners_.size(); ++k) {
                    const std::uint32_t t = partners_[k];
                    double w = 0;
                    step_t d = 0;
                    if (values) {
                        draw(wr, dr, k, w, d);  // drawn for every synapse: streams stay aligned
                    }
                    if (t >= t_lo && t < t_hi) {
                        emit(src.first_gid + s, t, slot_of(t, w), w, d);
                    }
                }
            }
            return;
        case row_kind::whole:
            if (ps.connectivity.type == connectivity_spec::rule::fixed_total_number) {
                // A group's members regenerate the group's one sequence and keep their own
                // pairs; the index of a pair among them keys its weight and delay.
                rng_stream conn(pr.total->key, 0, 0);
                std::uint64_t i = 0;
                total_number_pairs(*pr.total, conn,
                                   [&](std::uint32_t s, std::size_t m, std::uint32_t t) {
                                       if (m != pr.total_member) {
                                           return;
                                       }
                                       if (t >= t_lo && t < t_hi) {
                                           double w = 0;
                                           step_t d = 0;
                                           if (values) {
                                               rng_stream wr(pr.weight_key, 0, i);
                                               rng_stream dr(pr.delay_key, 0, i);
                                               draw(wr, dr, i, w, d);
                                           }
                                           emit(src.first_gid + s, t, slot_of(t, w), w, d);
                                       }
                                       ++i;
                                   });
            } else {
                const auto& edges = ps.connectivity.edges;
                for (std::size_t i = 0; i < edges.size(); ++i) {
                    const edge_spec& e = edges[i];
                    if (e.target < t_lo || e.target >= t_hi) {
                        continue;
                    }
                    double w = 0;
                    step_t d = 0;
                    if (values) {
                        rng_stream wr(pr.weight_key, 0, i);
                        rng_stream dr(pr.delay_key, 0, i);
                        draw(wr, dr, i, w, d);
                        if (!std::isnan(e.weight)) {
                            w = e.weight;
                        }
                        if (!std::isnan(e.delay)) {
                            d = delay_steps(e.delay, net_.dt, true, ps.where);
                        }
                    }
                    emit(src.first_gid + e.source, e.target, slot_of(e.target, w), w, d);
                }
            }
            return;
        }
    }

    // Sorts every row by delay (stably: the canonical order survives within a delay) and
    // records the segments of equal delay.
    template <typename Weight>
    void cut_segments(const std::vector<std::uint32_t>& row_start,
                      const std::vector<std::uint32_t>& delay, csr_refs<Weight> st) {
        const std::size_t n = net_.n_neurons;
        st.row_segment.assign(n + 1, 0);
        st.segment_delay.clear();
        st.segment_begin.clear();
        std::vector<std::pair<std::uint32_t, std::uint32_t>> order;  // (delay, index)
        std::vector<std::uint32_t> tmp_slot;
        std::vector<Weight> tmp_weight;
        for (std::size_t s = 0; s < n; ++s) {
            st.row_segment[s] = static_cast<std::uint32_t>(st.segment_delay.size());
            const std::uint32_t b = row_start[s];
            const std::uint32_t e = row_start[s + 1];
            if (b == e) {
                continue;
            }
            bool uniform = true;
            for (std::uint32_t k = b + 1; k < e; ++k) {
                uniform = uniform && delay[k] == delay[b];
            }
            if (!uniform) {
                order.clear();
                for (std::uint32_t k = b; k < e; ++k) {
                    order.emplace_back(delay[k], k);
                }
                std::stable_sort(order.begin(), order.end(),
                                 [](const auto& x, const auto& y) { return x.first < y.first; });
                tmp_slot.assign(st.slot.begin() + b, st.slot.begin() + e);
                tmp_weight.assign(st.weight.begin() + b, st.weight.begin() + e);
                for (std::uint32_t k = 0; k < e - b; ++k) {
                    st.slot[b + k] = tmp_slot[order[k].second - b];
                    st.weight[b + k] = tmp_weight[order[k].second - b];
                }
            }
            std::uint32_t prev = 0;
            for (std::uint32_t k = b; k < e; ++k) {
                const std::uint32_t d = uniform ? delay[b] : order[k - b].first;
                if (k == b || d != prev) {
                    st.segment_delay.push_back(d);
                    st.segment_begin.push_back(k);
                    prev = d;
                }
            }
        }
        st.row_segment[n] = static_cast<std::uint32_t>(st.segment_delay.size());
        st.segment_begin.push_back(static_cast<std::uint32_t>(st.slot.size()));
        st.segment_delay.shrink_to_fit();
        st.segment_begin.shrink_to_fit();
    }

    partition& part_;
    const network& net_;
    row_scratch scratch_;
    std::vector<std::uint32_t> partners_;
    pool_cache pool_;
};

// Accumulates a partition's sic connections as they are generated (canonical order: by
// projection, then the projection's connection order), merging those with the same (delay,
// target, source): a tripartite projection pairs each target with few astrocytes through many
// connections. Each merged weight is the sum of its connections' weights in canonical order.
class sic_collector {
public:
    void add(const sic_entry& e) {
        const auto [it, fresh] = index_.try_emplace(key{e.delay, e.neuron, e.column},
                                                    static_cast<std::uint32_t>(merged_.size()));
        if (fresh) {
            merged_.push_back(e);
        } else {
            merged_[it->second].weight += e.weight;
        }
    }

    // The store: sorted by (delay, target, source column), cut into delay segments.
    void make_store(sic_store& st) {
        std::sort(merged_.begin(), merged_.end(), [](const sic_entry& a, const sic_entry& b) {
            return a.delay != b.delay     ? a.delay < b.delay
                   : a.neuron != b.neuron ? a.neuron < b.neuron
                                          : a.column < b.column;
        });
        st = sic_store{};
        for (const sic_entry& e: merged_) {
            if (st.segment_delay.empty() || st.segment_delay.back() != e.delay) {
                st.segment_delay.push_back(e.delay);
                st.segment_begin.push_back(static_cast<std::uint32_t>(st.weight.size()));
            }
            st.column.push_back(e.column);
            st.neuron.push_back(e.neuron);
            st.weight.push_back(e.weight);
            st.source_gid.push_back(e.source);
        }
        st.segment_begin.push_back(static_cast<std::uint32_t>(st.weight.size()));
    }

private:
    struct key {
        std::uint32_t delay, neuron, column;
        bool operator==(const key&) const = default;
    };
    struct key_hash {
        std::size_t operator()(const key& k) const {
            return mix64((static_cast<std::uint64_t>(k.neuron) << 32 | k.column) ^
                         mix64(k.delay));
        }
    };
    std::unordered_map<key, std::uint32_t, key_hash> index_;
    std::vector<sic_entry> merged_;
};

// The static store from every static projection, and one plastic block per plastic projection
// with targets in the partition.
void build_synapses(partition& part, const network& net, const std::vector<projection_rt>& projs) {
    synapse_builder builder(part, net);
    // Static spike synapses: static projections and the third_in synapses of tripartite ones,
    // in projection order.
    std::vector<synapse_job> statics;
    for (const auto& pr: projs) {
        if (pr.rule == nullptr && !pr.sic) {
            statics.push_back(synapse_job{&pr, false});
        }
        if (pr.has_third) {
            statics.push_back(synapse_job{&pr, true});
        }
    }
    auto store = std::make_shared<synapse_store>();
    auto& st = *store;
    builder.build(statics, csr_refs<float>{st.row_segment, st.segment_delay, st.segment_begin,
                                           st.target, st.weight});
    part.synapses = std::move(store);
    // Graded coupling: sic projections and the third_out connections of tripartite ones.
    sic_collector sic;
    for (const auto& pr: projs) {
        builder.collect_sic(pr, sic);
    }
    sic.make_store(part.sic);
    for (const auto& pr: projs) {
        if (pr.rule == nullptr) {
            continue;
        }
        const block_slot* blk = block_of(part, net, pr.target);
        if (blk == nullptr) {
            continue;  // no target in this partition
        }
        plastic_synapses syn;
        builder.build({synapse_job{&pr, false}},
                      csr_refs<double>{syn.row_segment, syn.segment_delay, syn.segment_begin,
                                       syn.slot, syn.weight});
        const slot_map targets{blk->input_offset, blk->n_ports, blk->neuron_offset, blk->count};
        syn.target_gid.resize(syn.slot.size());
        for (std::size_t i = 0; i < syn.slot.size(); ++i) {
            syn.target_gid[i] = part.first_gid + targets.neuron(syn.slot[i]);
        }
        plastic_block_args args{pr.rule->info, pr.rule_params,
                                std::make_shared<const plastic_synapses>(std::move(syn)), targets,
                                &part.history, net.dt,
                                pr.modulator >= 0
                                    ? &net.modulators[static_cast<std::size_t>(pr.modulator)]
                                           .block->history()
                                    : nullptr};
        try {
            part.plastic.push_back(pr.rule->make_block(std::move(args)));
            part.plastic_projection.push_back(pr.index);
            part.plastic_targets.push_back(targets);
            part.plastic_modulator.push_back(pr.modulator);
        }
        catch (const error& e) {
            fail(pr.spec->where, fmt::format("projections.{} ({}): {}", pr.spec->name,
                                             pr.rule->info.name, e.what()));
        }
    }
}

void make_blocks(partition& part, const network& net) {
    std::size_t input_offset = 0;
    for (std::size_t pi = 0; pi < net.populations.size(); ++pi) {
        const population_rt& pop = net.populations[pi];
        const neuron_id lo = std::max(pop.first_gid, part.first_gid);
        const neuron_id hi = std::min(static_cast<neuron_id>(pop.first_gid + pop.size),
                                      part.end_gid);
        if (lo >= hi) {
            continue;
        }
        block_slot b;
        b.population = pi;
        b.first_in_population = lo - pop.first_gid;
        b.count = hi - lo;
        b.first_gid = lo;
        b.n_ports = pop.model->info.ports.size();
        if (pop.homeostasis.enabled) {
            const auto& h = pop.homeostasis;
            b.split_port = b.n_ports == 1;  // the engine splits E and I, the model sees the sum
            b.n_ports = 2;
            auto hs = std::make_unique<homeostasis_state>();
            hs->target.assign(pop.target_rates.begin() + static_cast<long>(lo - pop.first_gid),
                              pop.target_rates.begin() + static_cast<long>(hi - pop.first_gid));
            hs->rate = hs->target;  // start at the target: no transient from an empty estimate
            hs->g_E.assign(b.count, 1.0);
            hs->g_I.assign(b.count, 1.0);
            hs->merged.assign(b.split_port ? b.count : 0, 0.0);
            hs->decay = std::exp(-net.dt / h.tau);
            hs->increment = 1000.0 / h.tau;
            hs->eta = h.eta;
            hs->g_min = h.g_min;
            hs->g_max = h.g_max;
            hs->interval = to_steps(h.interval, net.dt, "homeostasis interval");
            hs->next_update = hs->interval;
            b.homeostasis = std::move(hs);
        }
        b.input_offset = input_offset;
        b.neuron_offset = lo - part.first_gid;
        b.info = &pop.model->info;
        if (pop.model->info.emits_graded) {
            b.graded_column = net.graded_offset[pi] + b.first_in_population;
        }
        const block_args args{pop.model->info, pop.params,           pop.initial,
                              b.first_in_population, b.count,        lo,
                              net.dt,                net.seed,       pop.spike_steps};
        try {
            b.block = pop.model->make_block(args);
        }
        catch (const error& e) {
            fail(pop.where, fmt::format("population '{}': {}", pop.name, e.what()));
        }
        input_offset += b.count * b.n_ports;
        part.blocks.push_back(std::move(b));
    }
}

// The neurons of `in` that lie in this partition: (partition neuron index, gid) pairs.
template <typename Emit>
void device_targets(const input_spec& in, const population_rt& pop, const partition& part,
                    Emit emit) {
    auto visit = [&](neuron_id local) {
        const neuron_id gid = pop.first_gid + local;
        if (gid >= part.first_gid && gid < part.end_gid) {
            emit(gid);
        }
    };
    if (in.neurons.empty()) {
        for (neuron_id k = 0; k < pop.size; ++k) {
            visit(k);
        }
    } else {
        for (neuron_id k: in.neurons) {
            visit(k);
        }
    }
}

void make_devices(partition& part, const experiment_spec& spec, const network& net) {
    using kind = input_spec::kind;
    const double dt = net.dt;
    for (std::size_t i = 0; i < spec.inputs.size(); ++i) {
        const input_spec& in = spec.inputs[i];
        const population_rt* pop = nullptr;
        for (const auto& p: net.populations) {
            if (p.name == in.target) {
                pop = &p;
            }
        }
        const block_slot* blk = block_of(part, net, pop);
        if (blk == nullptr) {
            continue;  // no target neuron in this partition
        }
        const step_t start = first_step_at_or_after(in.start, dt, net.n_steps);
        const step_t stop = first_step_at_or_after(in.stop, dt, net.n_steps);
        switch (in.type) {
        case kind::poisson_generator: {
            poisson_device d;
            d.key = stream_key(net.seed, stream::poisson_input, i);
            d.counts = poisson_sampler(in.rate * dt * 1e-3);
            d.weight = in.weight;
            d.start = start;
            d.stop = stop;
            const std::size_t port =
                blk->split_port ? (in.weight < 0 ? 1 : 0)
                : in.receptor.empty()
                    ? (pop->model->info.ports_by_sign && in.weight < 0 ? 1 : 0)
                    : pop->model->info.port_index(in.receptor);
            device_targets(in, *pop, part, [&](neuron_id gid) {
                d.slots.push_back(static_cast<std::uint32_t>(
                    blk->input_offset + (gid - blk->first_gid) * blk->n_ports + port));
                d.gids.push_back(gid);
            });
            d.next_u.resize(d.gids.size());
            part.poisson.push_back(std::move(d));
            break;
        }
        case kind::dataset_source: {
            dataset_device d;
            d.input = i;
            d.key = stream_key(net.seed, stream::trial_input, i);
            d.weight = in.weight;
            // Relative to a trial's first step, and not bounded by simulation.duration.
            constexpr step_t unbounded = step_t{1} << 60;
            d.start = first_step_at_or_after(in.start, dt, unbounded);
            d.stop = first_step_at_or_after(in.stop, dt, unbounded);
            const std::size_t port =
                blk->split_port ? (in.weight < 0 ? 1 : 0)
                : in.receptor.empty()
                    ? (pop->model->info.ports_by_sign && in.weight < 0 ? 1 : 0)
                    : pop->model->info.port_index(in.receptor);
            // Value k of a sample goes to the k-th neuron of the input (its `neurons` list, or
            // the population in order).
            std::vector<neuron_id> order = in.neurons;
            if (order.empty()) {
                order.resize(pop->size);
                std::iota(order.begin(), order.end(), neuron_id{0});
            }
            d.n_values = order.size();
            for (std::size_t k = 0; k < order.size(); ++k) {
                const neuron_id gid = pop->first_gid + order[k];
                if (gid < part.first_gid || gid >= part.end_gid) {
                    continue;
                }
                d.slots.push_back(static_cast<std::uint32_t>(
                    blk->input_offset + (gid - blk->first_gid) * blk->n_ports + port));
                d.values.push_back(static_cast<std::uint32_t>(k));
            }
            part.dataset.push_back(std::move(d));
            break;
        }
        case kind::noise_generator: {
            noise_device d;
            d.key = stream_key(net.seed, stream::noise_input, i);
            d.mean = in.mean;
            d.std = in.std;
            d.start = start;
            d.stop = stop;
            device_targets(in, *pop, part, [&](neuron_id gid) {
                d.neurons.push_back(gid - part.first_gid);
                d.gids.push_back(gid);
            });
            part.noise.push_back(std::move(d));
            break;
        }
        case kind::dc_generator:
        case kind::step_current_generator: {
            current_device d;
            device_targets(in, *pop, part,
                           [&](neuron_id gid) { d.neurons.push_back(gid - part.first_gid); });
            const auto device = static_cast<std::uint32_t>(part.currents.size());
            part.currents.push_back(std::move(d));
            if (start >= stop) {
                break;
            }
            if (in.type == kind::dc_generator) {
                part.heap.push(start, device, in.amplitude);
            } else {
                double before = 0;  // amplitude in effect before the first switch time
                for (std::size_t k = 0; k < in.times.size(); ++k) {
                    const step_t at = to_steps(in.times[k], dt, "step current time");
                    if (at < start) {
                        before = in.amplitudes[k];
                        continue;
                    }
                    if (at >= stop) {
                        break;
                    }
                    part.heap.push(at, device, in.amplitudes[k]);
                }
                if (before != 0) {
                    part.heap.push(start, device, before);
                }
            }
            if (stop < net.n_steps) {
                part.heap.push(stop, device, 0.0);
            }
            break;
        }
        }
    }
    // Blocks receive a current span only if a current device reaches them.
    auto reaches = [](const block_slot& b, const std::vector<std::uint32_t>& neurons) {
        return std::any_of(neurons.begin(), neurons.end(), [&](std::uint32_t n) {
            return n >= b.neuron_offset && n < b.neuron_offset + b.count;
        });
    };
    for (auto& b: part.blocks) {
        for (const auto& d: part.currents) {
            b.has_current = b.has_current || reaches(b, d.neurons);
        }
        for (const auto& d: part.noise) {
            b.has_current = b.has_current || reaches(b, d.neurons);
        }
        b.has_current = b.has_current || reaches(b, part.sic.neuron);
    }
    // Update mode: lazy where the model allows it with these parameters and no current varies
    // V between inputs; with "auto" also not under Poisson generator input (which reaches
    // nearly every neuron every step: the clock-driven loop is faster then).
    for (auto& b: part.blocks) {
        const population_rt& pop = net.populations[b.population];
        bool poisson_driven = false;
        for (const auto& d: part.poisson) {
            for (std::uint32_t slot: d.slots) {
                poisson_driven = poisson_driven || (slot >= b.input_offset &&
                                                    slot < b.input_offset + b.count * b.n_ports);
            }
        }
        // Eager plastic blocks (astro_stdp) send input outside the calendar queue.
        bool eager_target = false;
        for (std::size_t k = 0; k < part.plastic.size(); ++k) {
            eager_target = eager_target || (part.plastic[k]->eager() &&
                                            part.plastic_targets[k].neuron_offset ==
                                                b.neuron_offset);
        }
        const bool possible = b.block->can_update_lazily() && !b.has_current && !b.homeostasis &&
                              !eager_target;
        if (pop.update == "lazy" && !possible) {
            fail(pop.where,
                 fmt::format("population '{}': update: lazy needs a model solved exactly between "
                             "inputs that cannot reach threshold on its own ({} with these "
                             "parameters: {}), no dc, step, noise or sic current, no "
                             "homeostasis and no eager plasticity rule (astro_stdp) onto it",
                             pop.name, pop.model->info.name,
                             b.block->can_update_lazily() ? "yes" : "no"));
        }
        b.lazy = pop.update == "lazy" || (pop.update == "auto" && possible && !poisson_driven);
    }
}

void make_report_parts(partition& part, const network& net) {
    for (std::size_t r = 0; r < net.reports.size(); ++r) {
        const report_layout& rl = net.reports[r];
        const population_rt& pop = net.populations[rl.population];
        report_part rp;
        rp.report = r;
        rp.variable = pop.model->info.variable_index(rl.variable);
        rp.start = rl.start_step;
        rp.interval = rl.interval_steps;
        rp.stop = rl.start_step + static_cast<step_t>(rl.n_frames) * rl.interval_steps;
        rp.width = rl.node_ids.size();
        for (std::size_t bi = 0; bi < part.blocks.size(); ++bi) {
            const block_slot& b = part.blocks[bi];
            if (b.population != rl.population) {
                continue;
            }
            report_part::piece piece;
            piece.block = bi;
            for (std::size_t c = 0; c < rl.node_ids.size(); ++c) {
                const neuron_id gid = pop.first_gid + rl.node_ids[c];
                if (gid >= b.first_gid && gid < b.first_gid + b.count) {
                    piece.local.push_back(gid - b.first_gid);
                    piece.column.push_back(static_cast<std::uint32_t>(c));
                }
            }
            if (!piece.local.empty()) {
                piece.scratch.resize(piece.local.size());
                rp.pieces.push_back(std::move(piece));
            }
        }
        if (!rp.pieces.empty() && rl.n_frames > 0) {
            part.reports.push_back(std::move(rp));
        }
    }
}

// Positions of every population (population_spec::grid / positions): grids checked, then each
// grid's point sequence drawn once, as far as its populations use it, and cut into consecutive
// ranges in file order.
void lower_positions(const experiment_spec& spec, std::vector<population_rt>& pops) {
    const auto& grids = spec.grids;
    std::vector<std::uint64_t> used(grids.size(), 0);  // points taken so far, per grid
    std::vector<std::pair<std::size_t, std::uint64_t>> range(pops.size(), {0, 0});  // grid, first
    for (std::size_t g = 0; g < grids.size(); ++g) {
        const grid_spec& gs = grids[g];
        const std::string what = "grids." + gs.name;
        for (std::size_t h = 0; h < g; ++h) {
            if (grids[h].name == gs.name) {
                fail(gs.where, fmt::format("grid '{}' is defined twice", gs.name));
            }
        }
        if (grid_size(gs) == 0) {
            fail(gs.where, fmt::format("{}.shape: {} x {} x {}: every side must be >= 1 and the "
                                       "grid must have at most {} points",
                                       what, gs.shape[0], gs.shape[1], gs.shape[2],
                                       max_grid_points));
        }
        if (!(gs.spacing > 0) || !std::isfinite(gs.spacing)) {
            fail(gs.where, fmt::format("{}.spacing must be a finite number > 0, got {}", what,
                                       gs.spacing));
        }
    }
    for (std::size_t i = 0; i < pops.size(); ++i) {
        const population_spec& ps = spec.populations[i];
        const std::string what = "populations." + ps.name + ".positions";
        if (!ps.grid.empty() && !ps.positions.empty()) {
            fail(ps.where, fmt::format("{}: give a grid or a list of positions, not both", what));
        }
        if (!ps.positions.empty()) {
            if (ps.positions.size() != ps.size) {
                fail(ps.where, fmt::format("{} has {} entries; it needs one per neuron ({})", what,
                                           ps.positions.size(), ps.size));
            }
            for (std::size_t k = 0; k < ps.positions.size(); ++k) {
                const position& p = ps.positions[k];
                if (!std::isfinite(p.x) || !std::isfinite(p.y) || !std::isfinite(p.z)) {
                    fail(ps.where, fmt::format("{}[{}] must be finite, got [{}, {}, {}]", what, k,
                                               p.x, p.y, p.z));
                }
            }
            pops[i].positions = ps.positions;
            continue;
        }
        if (ps.grid.empty()) {
            continue;
        }
        const auto it = std::find_if(grids.begin(), grids.end(),
                                     [&](const grid_spec& g) { return g.name == ps.grid; });
        if (it == grids.end()) {
            std::string known;
            for (const auto& g: grids) {
                known += (known.empty() ? "" : ", ") + g.name;
            }
            fail(ps.where, fmt::format("{}.grid: no grid '{}'; grids are: {}", what, ps.grid,
                                       known.empty() ? "(none)" : known));
        }
        const auto g = static_cast<std::size_t>(it - grids.begin());
        const std::uint64_t points = grid_size(*it);
        if (ps.size > points - used[g]) {
            fail(ps.where, fmt::format("{}.grid: grid '{}' has {} points; {} are taken by the "
                                       "populations before '{}', which needs {} more",
                                       what, it->name, points, used[g], ps.name, ps.size));
        }
        range[i] = {g, used[g]};
        used[g] += ps.size;
    }
    std::vector<std::vector<position>> sequence(grids.size());
    for (std::size_t g = 0; g < grids.size(); ++g) {
        if (used[g] > 0) {
            sequence[g] = grid_points(grids[g], static_cast<std::uint32_t>(g), spec.simulation.seed,
                                      used[g]);
        }
    }
    for (std::size_t i = 0; i < pops.size(); ++i) {
        if (spec.populations[i].grid.empty()) {
            continue;
        }
        const auto& [g, first] = range[i];
        const auto begin = sequence[g].begin() + static_cast<std::ptrdiff_t>(first);
        pops[i].positions.assign(begin, begin + static_cast<std::ptrdiff_t>(pops[i].size));
    }
}

}  // namespace

std::vector<population_rt> lower_populations(const experiment_spec& spec,
                                             const model_registry& models) {
    const auto& sim = spec.simulation;
    if (!(sim.dt > 0) || !std::isfinite(sim.dt)) {
        fail(sim.where, fmt::format("simulation.dt must be a finite time > 0 ms, got {}", sim.dt));
    }
    if (!(sim.duration > 0) || !std::isfinite(sim.duration)) {
        fail(sim.where, fmt::format("simulation.duration must be a finite time > 0 ms, got {}",
                                    sim.duration));
    }
    if (spec.populations.empty()) {
        fail(spec.source_path, "the experiment has no populations");
    }
    std::vector<population_rt> out;
    std::uint64_t next_gid = 0;
    for (const auto& ps: spec.populations) {
        for (const auto& other: out) {
            if (other.name == ps.name) {
                fail(ps.where, fmt::format("population '{}' is defined twice", ps.name));
            }
        }
        population_rt p;
        p.name = ps.name;
        p.where = ps.where;
        p.model = models.find(ps.model);
        if (p.model == nullptr) {
            std::string known;
            for (const auto& n: models.names()) {
                known += (known.empty() ? "" : ", ") + n;
            }
            fail(ps.where, fmt::format("population '{}': unknown model '{}'; models are: {}",
                                       ps.name, ps.model, known));
        }
        if (ps.size == 0) {
            fail(ps.where, fmt::format("population '{}': size must be >= 1", ps.name));
        }
        if (next_gid + ps.size > std::numeric_limits<neuron_id>::max()) {
            fail(ps.where, "the network has more than 2^32 - 1 neurons");
        }
        p.first_gid = static_cast<neuron_id>(next_gid);
        p.size = ps.size;
        p.update = ps.update;
        if (p.update != "auto" && p.update != "clock" && p.update != "lazy") {
            fail(ps.where, fmt::format("population '{}': unknown update mode '{}'; expected one "
                                       "of: auto, clock, lazy",
                                       ps.name, p.update));
        }
        next_gid += ps.size;
        p.params = lower_params(ps, p.model->info, sim.seed, p.first_gid);
        p.initial = lower_initial(ps, p.model->info, sim.seed, p.first_gid);
        if (p.model->validate != nullptr) {
            try {
                p.model->validate(p.params, p.size);
            }
            catch (const error& e) {
                fail(ps.where, fmt::format("population '{}' ({}): {}", ps.name, p.model->info.name,
                                           e.what()));
            }
        }
        if (!ps.spike_times.empty() && !p.model->info.uses_spike_times) {
            fail(ps.where, fmt::format("population '{}': model {} takes no spike_times", ps.name,
                                       p.model->info.name));
        }
        p.spike_steps = spike_steps_of(ps, sim.dt);
        if (ps.homeostasis.enabled) {
            const auto& h = ps.homeostasis;
            const std::string what = "populations." + ps.name + ".homeostasis";
            const model_info& info = p.model->info;
            if (!info.emits_spikes ||
                !(info.ports.size() == 1 || (info.ports.size() == 2 && info.ports_by_sign))) {
                fail(h.where, fmt::format("{}: model {} has no excitatory/inhibitory input to "
                                          "balance",
                                          what, info.name));
            }
            if (!(h.tau > 0) || !(h.interval >= sim.dt) || !(h.eta >= 0) || !(h.g_min >= 0) ||
                !(h.g_max > h.g_min)) {
                fail(h.where, fmt::format("{}: needs tau > 0, interval >= dt, eta >= 0 and "
                                          "0 <= g_min < g_max",
                                          what));
            }
            to_steps(h.interval, sim.dt, what + ".interval");
            p.homeostasis = h;
            p.target_rates = per_neuron_values(h.target_rate, sim.seed, stream::homeostasis, 0,
                                               p.first_gid, ps.size);
            if (p.target_rates.size() == 1) {
                p.target_rates.assign(ps.size, p.target_rates[0]);
            }
            for (double r: p.target_rates) {
                if (!(r > 0) || !std::isfinite(r)) {
                    fail(h.target_rate.where.empty() ? h.where : h.target_rate.where,
                         fmt::format("{}.target_rate must be a finite rate > 0 Hz, got {}", what,
                                     r));
                }
            }
        }
        out.push_back(std::move(p));
    }
    lower_positions(spec, out);
    for (const auto& name: spec.record.spikes) {
        for (auto& p: out) {
            p.spikes_recorded = p.spikes_recorded || p.name == name;
        }
        const population_rt& p = population_named(out, name, spec.source_path, "record.spikes");
        if (!p.model->info.emits_spikes) {
            fail(spec.source_path,
                 fmt::format("record.spikes: population '{}' (model {}) emits no spikes; record "
                             "its state with a report",
                             p.name, p.model->info.name));
        }
    }
    return out;
}

void check_experiment(const experiment_spec& spec, const model_registry& models) {
    const auto pops = lower_populations(spec, models);
    const step_t n_steps = to_steps(spec.simulation.duration, spec.simulation.dt,
                                    "simulation.duration");
    lower_projections(spec, pops, models);
    lower_modulators(spec, pops, models);
    check_inputs(spec, pops);
    lower_reports(spec, pops, n_steps);
}

network build_network(const experiment_spec& spec, const model_registry& models,
                      int n_partitions, oneapi::tbb::task_arena& arena) {
    network net;
    net.dt = spec.simulation.dt;
    net.seed = spec.simulation.seed;
    net.populations = lower_populations(spec, models);
    net.n_steps = to_steps(spec.simulation.duration, net.dt, "simulation.duration");
    const auto projs = lower_projections(spec, net.populations, models);
    net.modulators = lower_modulators(spec, net.populations, models);
    for (const auto& in: spec.inputs) {
        net.input_names.push_back(in.name);
    }
    check_inputs(spec, net.populations);
    net.reports = lower_reports(spec, net.populations, net.n_steps);
    for (const auto& pr: projs) {
        const model_info& tinfo = pr.target->model->info;
        net.projections.push_back(network::projection_info{
            pr.spec->name, static_cast<std::size_t>(pr.source - net.populations.data()),
            static_cast<std::size_t>(pr.target - net.populations.data()),
            pr.sic ? "sic" : pr.rule == nullptr ? "static" : pr.rule->info.name,
            pr.sic ? std::string()
                   : std::string(canonical_unit(
                         tinfo.ports[pr.port < 0 ? 0 : pr.port].weight_dim))});
    }
    for (const auto& p: net.populations) {
        net.n_neurons += p.size;
        const bool graded = p.model->info.emits_graded;
        net.graded_offset.push_back(graded ? net.n_graded : static_cast<std::size_t>(-1));
        net.n_graded += graded ? p.size : 0;
    }
    if (net.n_graded > 0) {
        net.graded = std::make_unique<graded_buffer>();
        net.graded->width = net.n_graded;
    }
    const int P = std::max(1, std::min<int>(n_partitions, static_cast<int>(net.n_neurons)));
    const auto bounds = partition_bounds(net.n_neurons, P);
    net.partitions.resize(static_cast<std::size_t>(P));
    // One task per partition (simple_partitioner, grain 1): each builds a whole partition.
    arena.execute([&] {
        oneapi::tbb::parallel_for(
            oneapi::tbb::blocked_range<int>(0, P, 1),
            [&](const oneapi::tbb::blocked_range<int>& r) {
                for (int k = r.begin(); k < r.end(); ++k) {
                    auto part = std::make_unique<partition>();
                    part->first_gid = bounds[static_cast<std::size_t>(k)];
                    part->end_gid = bounds[static_cast<std::size_t>(k) + 1];
                    part->graded = net.graded.get();
                    make_blocks(*part, net);
                    build_synapses(*part, net, projs);
                    make_devices(*part, spec, net);
                    make_report_parts(*part, net);
                    net.partitions[static_cast<std::size_t>(k)] = std::move(part);
                }
            },
            oneapi::tbb::simple_partitioner{});
    });
    step_t min_d = std::numeric_limits<step_t>::max();
    step_t max_d = 0;
    for (const auto& part: net.partitions) {
        net.n_synapses += part->synapses->n_synapses();
        net.synapse_bytes += part->synapses->bytes();
        for (std::uint32_t d: part->synapses->segment_delay) {
            min_d = std::min<step_t>(min_d, d);
            max_d = std::max<step_t>(max_d, d);
        }
        for (const auto& b: part->plastic) {
            net.n_synapses += b->synapses().slot.size();
            for (std::uint32_t d: b->synapses().segment_delay) {
                min_d = std::min<step_t>(min_d, d);
                max_d = std::max<step_t>(max_d, d);
            }
        }
        // sic delays bound the epoch too: a value written in an epoch is read in a later one.
        net.n_sic += part->sic.size();
        for (std::uint32_t d: part->sic.segment_delay) {
            min_d = std::min<step_t>(min_d, d);
            max_d = std::max<step_t>(max_d, d);
            net.max_sic_delay = std::max<step_t>(net.max_sic_delay, d);
        }
    }
    net.min_delay = max_d == 0 ? 0 : min_d;
    net.max_delay = max_d;
    return net;
}

}  // namespace glia
