#include "app/cmd_timeseries.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <glia/error.hpp>
#include <glia/model_registry.hpp>
#include <glia/recording.hpp>
#include <glia/rng.hpp>
#include <glia/simulation.hpp>
#include <glia/version_info.hpp>

#include "app/app_util.hpp"
#include "io/config_yaml.hpp"
#include "io/hdf5_writer.hpp"
#include "io/reservoir_config.hpp"
#include "io/reservoir_output.hpp"
#include "models/register_models.hpp"
#include "reservoir/feature_view.hpp"
#include "reservoir/tasks.hpp"
#include "runtime/signals.hpp"

namespace glia::app {

namespace {

namespace res = glia::reservoir;
using clock_type = std::chrono::steady_clock;

constexpr std::uint32_t entity_input_neurons = 32;  // stream::reservoir (rng.hpp)

// The network of the experiment, with the input devices added, the state populations
// recorded and the duration set to the series.
struct driven_network {
    experiment_spec spec;
    std::vector<std::size_t> state_populations;  // indices into spec.populations
    std::vector<double> u;                       // the input series
};

driven_network make_network(const res::timeseries_experiment& x, const model_registry& models) {
    driven_network d;
    d.spec = io::load_experiment(x.network, x.network_sets, models);
    auto& spec = d.spec;
    const auto find = [&](const std::string& name) -> std::size_t {
        for (std::size_t i = 0; i < spec.populations.size(); ++i) {
            if (spec.populations[i].name == name) {
                return i;
            }
        }
        throw error(fmt::format("{}: population '{}' is not in the network '{}'", x.source_path,
                                name, x.network));
    };
    const population_spec& target = spec.populations[find(x.input_population)];
    if (x.state_populations.empty()) {
        for (std::size_t i = 0; i < spec.populations.size(); ++i) {
            d.state_populations.push_back(i);
        }
    } else {
        for (const auto& name: x.state_populations) {
            d.state_populations.push_back(find(name));
        }
    }
    // The series: memory capacity u ~ U[0, 1]; NARMA u ~ U[0, 0.5] (science-spec §3). The drive
    // uses the signal centred and scaled to [-1, 1].
    const bool narma = x.task == res::timeseries_experiment::task_kind::narma;
    d.u = res::uniform_series(x.steps, 0.0, narma ? 0.5 : 1.0, x.seed);
    const double centre = narma ? 0.25 : 0.5;
    const double half_range = narma ? 0.25 : 0.5;
    // round(fraction n) input neurons chosen without replacement; the first half get +gain,
    // the rest -gain.
    const std::size_t n = target.size;
    const auto k = static_cast<std::size_t>(std::llround(x.input_fraction * static_cast<double>(n)));
    if (k < 2) {
        throw error(fmt::format("{}: input.fraction {} of population '{}' ({} neurons) selects "
                                "fewer than 2 input neurons",
                                x.source_path, x.input_fraction, target.name, n));
    }
    std::vector<neuron_id> ids(n);
    std::iota(ids.begin(), ids.end(), neuron_id{0});
    rng_stream rng(stream_key(x.seed, stream::reservoir), entity_input_neurons, 0);
    for (std::size_t i = 0; i < k; ++i) {
        std::swap(ids[i], ids[i + rng.below(n - i)]);
    }
    std::vector<neuron_id> plus(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(k / 2));
    std::vector<neuron_id> minus(ids.begin() + static_cast<std::ptrdiff_t>(k / 2),
                                 ids.begin() + static_cast<std::ptrdiff_t>(k));
    std::sort(plus.begin(), plus.end());
    std::sort(minus.begin(), minus.end());
    for (int sign: {+1, -1}) {
        input_spec in;
        in.name = sign > 0 ? "task_input_plus" : "task_input_minus";
        in.type = input_spec::kind::step_current_generator;
        in.target = target.name;
        in.neurons = sign > 0 ? plus : minus;
        for (std::size_t t = 0; t < x.steps; ++t) {
            in.times.push_back(static_cast<double>(t) * x.step_duration);
            const double s = (d.u[t] - centre) / half_range;
            in.amplitudes.push_back(x.bias + sign * x.gain * s);
        }
        in.where = x.source_path + ": input";
        spec.inputs.push_back(std::move(in));
    }
    spec.simulation.duration = static_cast<double>(x.steps) * x.step_duration;
    const double dt = spec.simulation.dt;
    if (std::abs(x.step_duration / dt - std::round(x.step_duration / dt)) > 1e-9) {
        throw error(fmt::format("{}: task.step_duration {} ms is not a multiple of the network's "
                                "dt {} ms",
                                x.source_path, x.step_duration, dt));
    }
    spec.record.spikes.clear();
    for (std::size_t i: d.state_populations) {
        spec.record.spikes.push_back(spec.populations[i].name);
    }
    spec.record.reports.clear();
    spec.record.weights.clear();
    spec.output.path.clear();
    return d;
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

int cmd_validate_timeseries(const std::string& file, const std::vector<std::string>& sets) {
    const res::timeseries_experiment x = io::load_timeseries_experiment(file, sets);
    model_registry models;
    models::register_builtin_models(models);
    const driven_network d = make_network(x, models);
    std::size_t neurons = 0;
    for (std::size_t i: d.state_populations) {
        neurons += d.spec.populations[i].size;
    }
    fmt::print("{}: ok (time series: {}, {} steps of {} ms on network {}; {} state neurons)\n",
               file,
               x.task == res::timeseries_experiment::task_kind::narma
                   ? fmt::format("NARMA-{}", x.narma.order)
                   : fmt::format("memory capacity up to delay {}", x.k_max),
               x.steps, x.step_duration, x.network, neurons);
    return 0;
}

int cmd_run_timeseries(const timeseries_run_options& opt,
                       const std::shared_ptr<spdlog::logger>& log) {
    const auto t_start = clock_type::now();
    res::timeseries_experiment x = io::load_timeseries_experiment(opt.file, opt.sets);
    if (!opt.output.empty()) {
        x.output = opt.output;
    }
    io::check_writable(x.output);
    model_registry models;
    models::register_builtin_models(models);
    driven_network d = make_network(x, models);
    log->info("glia {} ({}): {} -> {} (time series on {})", version_string, git_hash, opt.file,
              x.output, x.network);

    context ctx;
    ctx.log = log;
    ctx.threads = opt.threads > 0 ? opt.threads : x.threads;
    simulation sim(d.spec, models, ctx);
    std::atomic<bool> stop{false};
    runtime::signal_watcher signals(stop);
    memory_sink sink;
    run_control control;
    control.stop = &stop;
    const run_summary summary = sim.run(sink, control);
    if (summary.status == run_status::interrupted) {
        throw error("interrupted: a time-series experiment needs the whole series; nothing was "
                    "written");
    }
    // State columns: the state populations in network order.
    std::vector<std::pair<neuron_id, std::size_t>> columns;
    std::size_t n_columns = 0;
    for (std::size_t p = 0; p < sink.layout.populations.size(); ++p) {
        for (std::size_t i: d.state_populations) {
            if (d.spec.populations[i].name == sink.layout.populations[p].name) {
                columns.emplace_back(sink.layout.populations[p].first_gid, n_columns);
                n_columns += sink.layout.populations[p].size;
            }
        }
    }
    std::sort(columns.begin(), columns.end());
    const std::vector<float> states =
        filtered_states(sink.recorded_spikes, columns, n_columns, sink.layout.dt, x.steps,
                        x.step_duration, x.tau);
    const res::feature_view view(states, x.steps, n_columns);
    const double spikes = static_cast<double>(sink.recorded_spikes.size());
    const double rate = spikes / (static_cast<double>(n_columns) * d.spec.simulation.duration * 1e-3);
    log->info("simulated {} ms in {} ({} state neurons, {:.2f} Hz)", d.spec.simulation.duration,
              format_duration(summary.wall_seconds), n_columns, rate);

    const io::reservoir_provenance prov =
        provenance_of("timeseries", x.config_text, x.source_path, opt.command_line, x.seed);
    io::reservoir_file out(x.output, prov);
    const std::vector<std::size_t> dim_u = {d.u.size()};
    out.array("task", "u", d.u, dim_u);
    if (x.save_states) {
        const std::vector<double> wide(states.begin(), states.end());
        const std::vector<std::size_t> dims = {x.steps, n_columns};
        out.array("task", "states", wide, dims);
    }
    out.metric("state_neurons", static_cast<double>(n_columns));
    out.metric("state_rate_hz", rate);
    out.metric("simulation_seconds", summary.wall_seconds);
    std::string line;
    if (x.task == res::timeseries_experiment::task_kind::memory_capacity) {
        const res::memory_capacity_result mc = res::memory_capacity(view, d.u, x.k_max, x.readout);
        out.metric("memory_capacity", mc.mc);
        const std::vector<std::size_t> dim = {mc.mc_k.size()};
        out.array("metrics", "memory_capacity_k", mc.mc_k, dim);
        line = fmt::format("memory capacity {:.2f} (delays 1..{}; MC_1 {:.3f}, MC_5 {:.3f}, "
                           "MC_10 {:.3f})",
                           mc.mc, x.k_max, mc.mc_k[0], mc.mc_k[std::min<std::size_t>(4, x.k_max - 1)],
                           mc.mc_k[std::min<std::size_t>(9, x.k_max - 1)]);
    } else {
        const std::vector<double> y = res::narma_series(d.u, x.narma);
        const res::regression_result r = res::narma_task(view, y, x.readout);
        out.metric("narma_order", static_cast<double>(x.narma.order));
        out.metric("nrmse_train", r.nrmse_train);
        out.metric("nrmse_test", r.nrmse_test);
        const std::vector<std::size_t> dim_y = {y.size()};
        out.array("task", "target", y, dim_y);
        const std::vector<std::size_t> dim_p = {r.test_prediction.size()};
        out.array("task", "test_prediction", r.test_prediction, dim_p);
        out.array("task", "test_target", r.test_target, dim_p);
        line = fmt::format("NARMA-{}: NRMSE test {:.3f} (train {:.3f})", x.narma.order,
                           r.nrmse_test, r.nrmse_train);
    }
    const double wall = seconds_since(t_start);
    out.metric("wall_seconds", wall);
    out.close("completed");
    log->info("{}", line);
    fmt::print("{}: {}; {} state neurons at {:.2f} Hz, total {}\n", x.output, line, n_columns,
               rate, format_duration(wall));
    return 0;
}

}  // namespace glia::app
