// Lowering and checks: experiment_spec -> runtime populations (parameters resolved, checked,
// per-neuron values drawn, positions) and projections (references, units, ranges, delays on the
// grid, plasticity rules, tripartite pairing, fixed_total_number groups), validated against the
// models.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>

#include <fmt/format.h>

#include <glia/error.hpp>
#include <glia/rng.hpp>

#include "core/time.hpp"
#include "network/builder_internal.hpp"
#include "network/positions.hpp"
#include "network/values.hpp"

namespace glia::build {

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
    // A synapse holds its delay in 32 bits; checked before rounding, which would overflow.
    constexpr auto max_steps = std::numeric_limits<std::int32_t>::max();
    if (!(d / dt <= static_cast<double>(max_steps))) {
        fail(where, fmt::format("delay = {} ms is too large for the step clock: at most {} steps "
                                "of dt = {} ms ({:.10g} ms)",
                                d, max_steps, dt, static_cast<double>(max_steps) * dt));
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
    return n;
}

namespace {

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

}  // namespace

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

namespace {

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

}  // namespace

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

namespace {

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

}  // namespace glia::build

namespace glia {

std::vector<population_rt> lower_populations(const experiment_spec& spec,
                                             const model_registry& models) {
    using namespace build;
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

}  // namespace glia
