// estimate_memory, available_memory and check_memory (include/glia/simulation.hpp): what a
// network will take, from its spec alone, against what the machine has, so that a network that
// cannot fit is refused before any per-neuron or per-synapse array is built.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <string>
#include <thread>

#include <fmt/format.h>

#include <glia/error.hpp>
#include <glia/simulation.hpp>

#include <sys/resource.h>

#include "network/values.hpp"

namespace glia {
namespace {

// Bytes per synapse while the network is built and run: a static synapse keeps its target,
// weight and delay segment (8 bytes) and needs its delay too while its rows are cut (12);
// a plastic one also a double weight, its target's id and the rule's per-synapse state.
constexpr double static_synapse_bytes = 12;
constexpr double plastic_synapse_bytes = 32;
// Per neuron beyond the model's variables, ports and per-neuron parameters: spike buffers,
// the neuron-to-population map, lazy-update stamps, positions.
constexpr double neuron_overhead_bytes = 48;
// The recording path: the asynchronous writer's bounded queue, HDF5 chunk buffers and cache.
constexpr double recording_base_bytes = 64.0 * (1 << 20);

double sum_of_gaussian_row(double spacing, double lambda, std::uint64_t extent) {
    // sum over k in (-extent, extent) of exp(-(k spacing / lambda)^2): terms below 1e-16 end it.
    double s = 1;
    for (std::uint64_t k = 1; k < extent; ++k) {
        const double x = static_cast<double>(k) * spacing / lambda;
        const double term = std::exp(-x * x);
        if (term < 1e-16) {
            break;
        }
        s += 2 * term;
    }
    return s;
}

const population_spec* population_of(const experiment_spec& spec, const std::string& name) {
    for (const auto& p: spec.populations) {
        if (p.name == name) {
            return &p;
        }
    }
    return nullptr;
}

const grid_spec* grid_of(const experiment_spec& spec, const std::string& name) {
    for (const auto& g: spec.grids) {
        if (g.name == name) {
            return &g;
        }
    }
    return nullptr;
}

// Expected synapses of a projection from its rule; NaN-free, never negative.
double expected_synapses(const experiment_spec& spec, const projection_spec& pr) {
    const population_spec* s = population_of(spec, pr.source);
    const population_spec* t = population_of(spec, pr.target);
    if (s == nullptr || t == nullptr) {
        return 0;
    }
    const auto S = static_cast<double>(s->size);
    const auto T = static_cast<double>(t->size);
    const auto& c = pr.connectivity;
    using rule = connectivity_spec::rule;
    const auto finite = [](double x) {
        return std::isfinite(x) && x > 0 ? x : 0.0;
    };
    switch (c.type) {
    case rule::all_to_all: return S * T;
    case rule::one_to_one: return std::min(S, T);
    case rule::pairwise_bernoulli: return finite(std::min(c.p, 1.0)) * S * T;
    case rule::fixed_indegree: return static_cast<double>(c.n) * T;
    case rule::fixed_outdegree: return static_cast<double>(c.n) * S;
    case rule::fixed_total_number:
        return c.density >= 0 ? finite(c.density) * S * T : static_cast<double>(c.n);
    case rule::from_list: return static_cast<double>(c.edges.size());
    case rule::distance: {
        const double C = finite(std::min(c.C, 1.0));
        double per_target = S;
        const grid_spec* g = grid_of(spec, s->grid);
        if (g != nullptr && c.lambda > 0 && std::isfinite(c.lambda) && g->spacing > 0) {
            // The lattice points within reach of a target, times the share of them that are
            // sources when populations share the grid in random order.
            double reach = 1;
            double points = 1;
            for (std::uint64_t d: g->shape) {
                reach *= sum_of_gaussian_row(g->spacing, c.lambda, d);
                points *= static_cast<double>(d);
            }
            per_target = std::min(S, g->random ? reach * S / std::max(points, 1.0) : reach);
        }
        return C * per_target * T;
    }
    }
    return 0;
}

std::string bytes_text(double b) {
    if (b >= 1e12) {
        return fmt::format("{:.1f} TB", b / 1e12);
    }
    if (b >= 1e9) {
        return fmt::format("{:.1f} GB", b / 1e9);
    }
    return b >= 1e7 ? fmt::format("{:.0f} MB", b / 1e6) : fmt::format("{:.1f} MB", b / 1e6);
}

// "4G", "512M", "1000000" (bytes; K, M, G, T: powers of 1024) as bytes; 0 if not a size.
std::uint64_t parse_size(const std::string& text) {
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(text.c_str(), &end);
    if (end == text.c_str() || errno != 0 || !(v > 0) || !std::isfinite(v)) {
        return 0;
    }
    std::string unit(end);
    double scale = 1;
    if (unit == "K" || unit == "k" || unit == "KB") {
        scale = 1024.0;
    } else if (unit == "M" || unit == "MB") {
        scale = 1024.0 * 1024;
    } else if (unit == "G" || unit == "GB") {
        scale = 1024.0 * 1024 * 1024;
    } else if (unit == "T" || unit == "TB") {
        scale = 1024.0 * 1024 * 1024 * 1024;
    } else if (!unit.empty()) {
        return 0;
    }
    const double b = v * scale;
    return b >= 1.8e19 ? std::numeric_limits<std::uint64_t>::max() : static_cast<std::uint64_t>(b);
}

}  // namespace

memory_estimate estimate_memory(const experiment_spec& spec, const model_registry& models) {
    memory_estimate m;
    double largest = -1;
    const auto note = [&](double bytes, const std::string& where, std::string what) {
        if (bytes > largest) {
            largest = bytes;
            m.largest_where = where;
            m.largest_what = std::move(what);
        }
    };
    double neurons = 0;
    for (const auto& p: spec.populations) {
        const neuron_model* md = models.find(p.model);
        double per = neuron_overhead_bytes;
        if (md != nullptr) {
            per += 8.0 * static_cast<double>(md->info.variables.size() + md->info.ports.size());
        }
        for (const auto& [name, v]: p.params) {
            per += v.is_constant() ? 0.0 : 8.0;
        }
        per += 8.0 * static_cast<double>(p.initial.size());
        const auto n = static_cast<double>(p.size);
        neurons += n;
        m.neuron_bytes += n * per;
        note(n * per, p.where,
             fmt::format("populations.{}: {} neurons x {:.0f} bytes", p.name, p.size, per));
    }
    m.neurons = neurons;
    // Every partition counts the synapses of its rows in an array over all neurons.
    const int partitions = spec.simulation.partitions > 0 ? spec.simulation.partitions
                           : spec.simulation.threads > 0
                               ? spec.simulation.threads
                               : static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
    m.neuron_bytes += 4.0 * neurons * partitions;
    for (const auto& pr: spec.projections) {
        double n = expected_synapses(spec, pr);
        if (pr.tripartite.enabled) {
            n *= 1 + 2 * std::clamp(pr.tripartite.p, 0.0, 1.0);
        }
        const double per = pr.synapse == "static" || pr.synapse == "sic" ? static_synapse_bytes
                                                                         : plastic_synapse_bytes;
        m.synapses += n;
        m.synapse_bytes += n * per;
        note(n * per, pr.where,
             fmt::format("projections.{}: {:.3g} synapses x {:.0f} bytes", pr.name, n, per));
        for (const auto& w: spec.record.weights) {
            if (w.projection == pr.name) {
                m.recording_bytes += 8 * n;  // one snapshot's copy
            }
        }
    }
    m.recording_bytes += recording_base_bytes;
    const auto& p = spec.protocol;
    if (p.type != protocol_spec::kind::none) {
        // The features of every sample (float), held for the readouts.
        double state = 0;
        for (const auto& name: p.state) {
            if (const population_spec* s = population_of(spec, name)) {
                state += static_cast<double>(s->size);
            }
        }
        double rows = 0;
        double per_row = state;
        if (p.type == protocol_spec::kind::two_phase) {
            const auto& d = p.dataset;
            const double limits = static_cast<double>(d.limit_train + d.limit_validation +
                                                      d.limit_test);
            rows = d.limit_train > 0 && d.limit_validation > 0 && d.limit_test > 0 ? limits
                                                                                    : 70000;
            per_row = state * static_cast<double>(1 + p.bins) + (p.final_state.empty() ? 0 : state);
        } else {
            rows = static_cast<double>(p.series_steps);
        }
        const double bytes = 4 * rows * per_row;
        m.recording_bytes += bytes;
        note(bytes, p.where,
             fmt::format("protocol: features of {:.0f} samples x {:.0f} values x 4 bytes", rows,
                         per_row));
    }
    m.total_bytes = m.neuron_bytes + m.synapse_bytes + m.recording_bytes;
    return m;
}

memory_limit available_memory() {
    memory_limit out;
    if (const char* env = std::getenv("GLIA_MEMORY_LIMIT"); env != nullptr && *env != '\0') {
        out.bytes = parse_size(env);
        if (out.bytes == 0) {
            throw error(fmt::format("GLIA_MEMORY_LIMIT must be a size in bytes with an optional "
                                    "K, M, G or T (e.g. 4G), got '{}'",
                                    env));
        }
        out.source = "GLIA_MEMORY_LIMIT";
        return out;
    }
    out.bytes = std::numeric_limits<std::uint64_t>::max();
    std::ifstream meminfo("/proc/meminfo");
    std::string key;
    std::uint64_t kb = 0;
    std::string unit;
    while (meminfo >> key >> kb) {
        std::getline(meminfo, unit);
        if (key == "MemAvailable:") {
            out.bytes = kb * 1024;
            out.source = "MemAvailable in /proc/meminfo";
            break;
        }
    }
    rlimit as{};
    if (getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY &&
        as.rlim_cur < out.bytes) {
        out.bytes = as.rlim_cur;
        out.source = "the address-space limit (ulimit -v)";
    }
    return out;
}

void check_memory(const experiment_spec& spec, const model_registry& models) {
    const memory_estimate m = estimate_memory(spec, models);
    const memory_limit limit = available_memory();
    if (m.total_bytes <= static_cast<double>(limit.bytes)) {
        return;
    }
    throw error(fmt::format(
        "{}the network needs about {} of memory ({:.0f} neurons: {}; {:.3g} synapses: {}; "
        "recording and features: {}), more than the {} available ({}); the largest part is {}. "
        "Make the network smaller, or set GLIA_MEMORY_LIMIT (e.g. 64G) where the run will have "
        "more memory than this machine",
        located(m.largest_where), bytes_text(m.total_bytes), m.neurons,
        bytes_text(m.neuron_bytes), m.synapses, bytes_text(m.synapse_bytes),
        bytes_text(m.recording_bytes), bytes_text(static_cast<double>(limit.bytes)),
        limit.source, m.largest_what));
}

}  // namespace glia
