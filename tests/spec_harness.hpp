#pragma once
// Builds experiment_specs in C++ for engine tests (no YAML), and runs them.

#include <map>
#include <string>
#include <vector>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <glia/model_registry.hpp>
#include <glia/simulation.hpp>
#include <glia/spec.hpp>

#include "models/register_models.hpp"

namespace glia::test {

inline value_spec c(double v) { return value_spec::constant_of(v); }

inline value_spec uniform(double lo, double hi) {
    value_spec v;
    v.type = value_spec::kind::uniform;
    v.low = lo;
    v.high = hi;
    return v;
}

inline value_spec normal(double mean, double sd, double min = -infinity, double max = infinity) {
    value_spec v;
    v.type = value_spec::kind::normal;
    v.mean = mean;
    v.std = sd;
    v.min = min;
    v.max = max;
    return v;
}

inline value_spec list(std::vector<double> xs) {
    value_spec v;
    v.type = value_spec::kind::list;
    v.values = std::move(xs);
    return v;
}

inline population_spec population(std::string name, std::string model, std::size_t size,
                                  std::map<std::string, double> params = {}) {
    population_spec p;
    p.name = std::move(name);
    p.model = std::move(model);
    p.size = size;
    for (const auto& [k, v]: params) {
        p.params[k] = c(v);
    }
    return p;
}

inline projection_spec projection(std::string name, std::string source, std::string target,
                                  connectivity_spec::rule rule, value_spec weight,
                                  value_spec delay) {
    projection_spec p;
    p.name = std::move(name);
    p.source = std::move(source);
    p.target = std::move(target);
    p.connectivity.type = rule;
    p.weight = std::move(weight);
    p.delay = std::move(delay);
    return p;
}

inline experiment_spec experiment(double dt, double duration, std::uint64_t seed = 1) {
    experiment_spec e;
    e.simulation.dt = dt;
    e.simulation.duration = duration;
    e.simulation.seed = seed;
    return e;
}

inline void record_all_spikes(experiment_spec& e) {
    e.record.spikes.clear();
    for (const auto& p: e.populations) {
        e.record.spikes.push_back(p.name);
    }
}

inline const model_registry& builtin_models() {
    static const model_registry registry = [] {
        model_registry r;
        models::register_builtin_models(r);
        return r;
    }();
    return registry;
}

inline context quiet_context(int threads = 1, int partitions = 1) {
    context ctx;
    // Not registered with spdlog: any number of these may exist at once.
    ctx.log = std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
    ctx.threads = threads;
    ctx.partitions = partitions;
    return ctx;
}

struct run_result {
    memory_sink out;
    run_summary summary;
    build_report report;
    std::uint64_t connectivity_hash = 0;
};

inline run_result run(const experiment_spec& spec, int threads = 1, int partitions = 1) {
    run_result r;
    simulation sim(spec, builtin_models(), quiet_context(threads, partitions));
    r.report = sim.report();
    r.connectivity_hash = sim.connectivity_hash();
    r.summary = sim.run(r.out);
    return r;
}

}  // namespace glia::test
