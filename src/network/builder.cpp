// build_network and check_experiment: the whole spec lowered and checked, then the partitions
// built in parallel (their neuron blocks here; synapses in synapse_builder.cpp, devices and
// report pieces in devices.cpp).
#include "network/builder.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include <fmt/format.h>
#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/partitioner.h>

#include <glia/error.hpp>
#include <glia/simulation.hpp>

#include "core/time.hpp"
#include "network/builder_internal.hpp"

namespace glia::build {

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

namespace {

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

}  // namespace

}  // namespace glia::build

namespace glia {

void check_experiment(const experiment_spec& spec, const model_registry& models) {
    using namespace build;
    check_memory(spec, models);
    const auto pops = lower_populations(spec, models);
    const step_t n_steps = to_steps(spec.simulation.duration, spec.simulation.dt,
                                    "simulation.duration");
    lower_projections(spec, pops, models);
    lower_modulators(spec, pops, models);
    check_inputs(spec, pops);
    lower_reports(spec, pops, n_steps);
}

network build_network(const experiment_spec& spec, const model_registry& models,
                      int n_partitions, oneapi::tbb::task_arena& arena, spdlog::logger* log) {
    using namespace build;
    check_memory(spec, models);
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
    // Target-major rows are generated twice (count, fill), those of sic projections once.
    std::uint64_t rows = 0;
    for (const auto& pr: projs) {
        if (pr.kind == row_kind::target_major) {
            rows += (pr.sic ? 1 : 2) * static_cast<std::uint64_t>(pr.target->size);
        }
    }
    build_progress progress(log, rows);
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
                    build_synapses(*part, net, projs, &progress);
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
