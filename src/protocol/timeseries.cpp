#include "protocol/timeseries.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>

#include <fmt/format.h>

#include <glia/error.hpp>
#include <glia/recording.hpp>
#include <glia/rng.hpp>
#include <glia/simulation.hpp>

#include "reservoir/feature_view.hpp"
#include "reservoir/tasks.hpp"

namespace glia::protocol {
namespace {

namespace res = glia::reservoir;

constexpr std::uint32_t entity_input_neurons = 32;  // stream::reservoir (rng.hpp)

bool narma(const protocol_spec& p) { return p.task == protocol_spec::task_kind::narma; }

// The series: memory capacity u ~ U[0, 1]; NARMA u ~ U[0, 0.5] (science-spec §3).
std::vector<double> series_of(const experiment_spec& spec) {
    const protocol_spec& p = spec.protocol;
    return res::uniform_series(p.series_steps, 0.0, narma(p) ? 0.5 : 1.0, spec.simulation.seed);
}

std::vector<std::string> state_populations(const experiment_spec& spec) {
    if (!spec.protocol.state.empty()) {
        return spec.protocol.state;
    }
    std::vector<std::string> all;
    for (const auto& p: spec.populations) {
        all.push_back(p.name);
    }
    return all;
}

// states[t][i]: sum over spikes of neuron i at times s <= end of step t of exp(-(end - s) / tau),
// values below 1e-6 flushed to 0.
std::vector<float> filtered_states(const std::vector<spike_event>& spikes,
                                   const std::vector<std::pair<neuron_id, std::size_t>>& columns,
                                   std::size_t n_columns, double dt, std::size_t steps,
                                   double step_duration, double tau) {
    std::vector<float> states(steps * n_columns, 0.0F);
    std::vector<double> trace(n_columns, 0.0);
    std::vector<double> last(n_columns, 0.0);
    const auto column_of = [&](neuron_id gid) -> std::ptrdiff_t {
        // columns: (first gid of a state population, its first column), sorted by gid.
        for (auto it = columns.rbegin(); it != columns.rend(); ++it) {
            if (gid >= it->first) {
                return static_cast<std::ptrdiff_t>(it->second + (gid - it->first));
            }
        }
        return -1;
    };
    std::size_t next = 0;
    for (std::size_t t = 0; t < steps; ++t) {
        const double end = static_cast<double>(t + 1) * step_duration;
        for (; next < spikes.size(); ++next) {
            const double time = static_cast<double>(spikes[next].step + 1) * dt;
            if (time > end + 1e-9) {
                break;
            }
            const std::ptrdiff_t c = column_of(spikes[next].gid);
            if (c < 0 || static_cast<std::size_t>(c) >= n_columns) {
                continue;
            }
            trace[c] = trace[c] * std::exp(-(time - last[c]) / tau) + 1.0;
            last[c] = time;
        }
        float* row = states.data() + t * n_columns;
        for (std::size_t c = 0; c < n_columns; ++c) {
            // Spikes older than about 14 tau count as gone: a neuron silent since the start
            // would otherwise give a column decaying through 1e-30, which standardisation
            // blows up into noise the readout fits.
            const double v = trace[c] * std::exp(-(end - last[c]) / tau);
            row[c] = v < 1e-6 ? 0.0F : static_cast<float>(v);
        }
    }
    return states;
}

}  // namespace

experiment_spec timeseries_network(const experiment_spec& spec_in) {
    experiment_spec spec = spec_in;
    const protocol_spec& p = spec_in.protocol;
    const std::string at = p.where.empty() ? "" : p.where + ": ";
    const population_spec* target = nullptr;
    for (const auto& pop: spec.populations) {
        if (pop.name == p.input_population) {
            target = &pop;
        }
    }
    if (target == nullptr) {
        throw internal_error("timeseries: the input population is not in the experiment");
    }
    const std::vector<double> u = series_of(spec_in);
    const double centre = narma(p) ? 0.25 : 0.5;
    const double half_range = narma(p) ? 0.25 : 0.5;
    // round(fraction n) input neurons chosen without replacement; the first half get +gain,
    // the rest -gain.
    const std::size_t n = target->size;
    const auto k = static_cast<std::size_t>(std::llround(p.input_fraction * static_cast<double>(n)));
    if (k < 2) {
        throw error(fmt::format("{}protocol.input.fraction {} of population '{}' ({} neurons) "
                                "selects fewer than 2 input neurons",
                                at, p.input_fraction, target->name, n));
    }
    std::vector<neuron_id> ids(n);
    std::iota(ids.begin(), ids.end(), neuron_id{0});
    rng_stream rng(stream_key(spec.simulation.seed, stream::reservoir), entity_input_neurons, 0);
    for (std::size_t i = 0; i < k; ++i) {
        std::swap(ids[i], ids[i + rng.below(n - i)]);
    }
    std::vector<neuron_id> plus(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(k / 2));
    std::vector<neuron_id> minus(ids.begin() + static_cast<std::ptrdiff_t>(k / 2),
                                 ids.begin() + static_cast<std::ptrdiff_t>(k));
    std::sort(plus.begin(), plus.end());
    std::sort(minus.begin(), minus.end());
    const std::string target_name = target->name;
    for (int sign: {+1, -1}) {
        input_spec in;
        in.name = sign > 0 ? "task_input_plus" : "task_input_minus";
        in.type = input_spec::kind::step_current_generator;
        in.target = target_name;
        in.neurons = sign > 0 ? plus : minus;
        for (std::size_t t = 0; t < p.series_steps; ++t) {
            in.times.push_back(static_cast<double>(t) * p.step_duration);
            const double s = (u[t] - centre) / half_range;
            in.amplitudes.push_back(p.bias + sign * p.gain * s);
        }
        in.where = p.where;
        spec.inputs.push_back(std::move(in));
    }
    spec.simulation.duration = static_cast<double>(p.series_steps) * p.step_duration;
    spec.record.spikes = state_populations(spec_in);
    spec.record.reports.clear();
    spec.record.weights.clear();
    spec.output.path.clear();
    return spec;
}

timeseries_summary run_timeseries(const experiment_spec& spec_in, const model_registry& models,
                                  const timeseries_options& options, protocol_output& out,
                                  protocol_observer& observer, const std::atomic<bool>& stop) {
    auto& log = *(options.log ? options.log : spdlog::default_logger());
    const protocol_spec& p = spec_in.protocol;
    const experiment_spec spec = timeseries_network(spec_in);
    const std::vector<double> u = series_of(spec_in);
    context ctx;
    ctx.log = options.log;
    ctx.threads = options.threads;
    simulation sim(spec, models, ctx);
    {
        std::vector<std::string> names, kinds;
        std::vector<neuron_id> first;
        std::vector<std::uint64_t> sizes;
        neuron_id gid = 0;
        for (const auto& pop: spec.populations) {
            names.push_back(pop.name);
            kinds.push_back(pop.model);
            first.push_back(gid);
            sizes.push_back(pop.size);
            gid += static_cast<neuron_id>(pop.size);
        }
        out.network(names, kinds, first, sizes, sim.report().n_synapses,
                    sim.report().build_seconds);
    }
    // State columns: the state populations in network order.
    const auto state = state_populations(spec_in);
    {
        protocol_observer::plan plan;
        for (const auto& pop: spec.populations) {
            if (std::find(state.begin(), state.end(), pop.name) != state.end()) {
                plan.state_neurons += pop.size;
            }
        }
        plan.synapses = sim.report().n_synapses;
        plan.dt = spec.simulation.dt;
        plan.samples = 1;
        plan.steps_b = static_cast<std::size_t>(std::llround(spec.simulation.duration /
                                                             spec.simulation.dt));
        plan.build_seconds = sim.report().build_seconds;
        observer.planned(plan);
        observer.phase("series", 1);
    }
    memory_sink sink;
    run_control control;
    control.stop = &stop;
    control.on_progress = [&](const progress_info& pi) { observer.steps(pi.step, pi.spikes); };
    const run_summary run = sim.run(sink, control);
    timeseries_summary summary;
    if (run.status == run_status::interrupted) {
        summary.status = outcome::interrupted;
        return summary;
    }
    std::vector<std::pair<neuron_id, std::size_t>> columns;
    std::size_t n_columns = 0;
    for (const auto& pop: sink.layout.populations) {
        if (std::find(state.begin(), state.end(), pop.name) != state.end()) {
            columns.emplace_back(pop.first_gid, n_columns);
            n_columns += pop.size;
        }
    }
    std::sort(columns.begin(), columns.end());
    const std::vector<float> states =
        filtered_states(sink.recorded_spikes, columns, n_columns, sink.layout.dt, p.series_steps,
                        p.step_duration, p.tau);
    const res::feature_view view(states, p.series_steps, n_columns);
    const double spikes = static_cast<double>(sink.recorded_spikes.size());
    {
        const std::uint32_t n = static_cast<std::uint32_t>(
            std::min<std::size_t>(sink.recorded_spikes.size(), UINT32_MAX));
        observer.samples("series", std::span<const std::uint32_t>(&n, 1), {}, 1);
        observer.phase("readout", 1);
    }
    summary.state_neurons = n_columns;
    summary.state_rate_hz =
        spikes / (static_cast<double>(n_columns) * spec.simulation.duration * 1e-3);
    summary.simulation_seconds = run.wall_seconds;
    log.info("simulated {} ms in {:.1f} s ({} state neurons, {:.2f} Hz)",
             spec.simulation.duration, run.wall_seconds, n_columns, summary.state_rate_hz);

    const std::vector<std::size_t> dim_u = {u.size()};
    out.array("task", "u", u, dim_u);
    if (p.save_states) {
        const std::vector<double> wide(states.begin(), states.end());
        const std::vector<std::size_t> dims = {p.series_steps, n_columns};
        out.array("task", "states", wide, dims);
    }
    out.metric("state_neurons", static_cast<double>(n_columns));
    out.metric("state_rate_hz", summary.state_rate_hz);
    out.metric("simulation_seconds", run.wall_seconds);
    res::linear_task_params lp;
    lp.washout = p.washout;
    lp.train_fraction = p.train_fraction;
    lp.ridge_lambda = p.ridge_lambda;
    lp.standardize = p.standardize;
    if (!narma(p)) {
        const res::memory_capacity_result mc = res::memory_capacity(view, u, p.k_max, lp);
        out.metric("memory_capacity", mc.mc);
        const std::vector<std::size_t> dim = {mc.mc_k.size()};
        out.metric_array("memory_capacity_k", mc.mc_k, dim);
        summary.line = fmt::format(
            "memory capacity {:.2f} (delays 1..{}; MC_1 {:.3f}, MC_5 {:.3f}, MC_10 {:.3f})", mc.mc,
            p.k_max, mc.mc_k[0], mc.mc_k[std::min<std::size_t>(4, p.k_max - 1)],
            mc.mc_k[std::min<std::size_t>(9, p.k_max - 1)]);
    } else {
        res::narma_params np;
        np.order = p.narma_order;
        const std::vector<double> y = res::narma_series(u, np);
        const res::regression_result r = res::narma_task(view, y, lp);
        out.metric("narma_order", static_cast<double>(p.narma_order));
        out.metric("nrmse_train", r.nrmse_train);
        out.metric("nrmse_test", r.nrmse_test);
        const std::vector<std::size_t> dim_y = {y.size()};
        out.array("task", "target", y, dim_y);
        const std::vector<std::size_t> dim_p = {r.test_prediction.size()};
        out.array("task", "test_prediction", r.test_prediction, dim_p);
        out.array("task", "test_target", r.test_target, dim_p);
        summary.line = fmt::format("NARMA-{}: NRMSE test {:.3f} (train {:.3f})", p.narma_order,
                                   r.nrmse_test, r.nrmse_train);
    }
    log.info("{}", summary.line);
    return summary;
}

}  // namespace glia::protocol
