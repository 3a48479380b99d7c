// Devices: modulators (lowered and made), inputs (checked, then the generators of each
// partition: Poisson, dataset, noise, dc and step currents, and the update mode they leave each
// block) and reports (lowered, then each partition's pieces of them).
#include <algorithm>
#include <cmath>
#include <numeric>
#include <span>
#include <string>

#include <fmt/format.h>

#include <glia/error.hpp>
#include <glia/rng.hpp>

#include "core/time.hpp"
#include "network/builder_internal.hpp"

namespace glia::build {

namespace {

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

}  // namespace

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

namespace {

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

}  // namespace

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

}  // namespace glia::build
