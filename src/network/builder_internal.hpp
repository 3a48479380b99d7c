#pragma once
// Declarations shared by the files of the network builder: builder.cpp (the partitions and
// build_network), lowering.cpp (spec -> runtime populations and projections, and the checks
// against the models), synapse_builder.cpp (connectivity rules -> compressed rows) and
// devices.cpp (inputs, reports and modulators). Private to the builder.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <glia/model.hpp>
#include <glia/model_registry.hpp>
#include <glia/plasticity.hpp>
#include <glia/recording.hpp>
#include <glia/spec.hpp>
#include <glia/types.hpp>

#include "core/network.hpp"
#include "core/partition.hpp"
#include "network/builder.hpp"
#include "network/connectivity.hpp"

namespace glia::build {

// ----- Checks shared by the lowering of every part of the spec (lowering.cpp) -----

// Throws glia::error located at `where` (a spec's `where`, "file:line:col" or empty).
[[noreturn]] void fail(const std::string& where, const std::string& what);
const population_rt& population_named(const std::vector<population_rt>& pops,
                                      const std::string& name, const std::string& where,
                                      std::string_view role);
std::string_view range_text(value_range r);
bool in_range(double x, value_range r);
void check_dimension(const value_spec& v, dimension expected, const std::string& what);
step_t delay_steps(double d, double dt, bool exact, const std::string& where);
void check_weight_range(const value_spec& v, const model_info& info, std::size_t port,
                        const std::string& what);
int choose_port(const model_info& info, const std::string& receptor, const std::string& where,
                const std::string& what);

// ----- Projections, lowered (lowering.cpp) -----

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

std::vector<projection_rt> lower_projections(const experiment_spec& spec,
                                             const std::vector<population_rt>& pops,
                                             const model_registry& models);

// ----- Inputs, reports and modulators (devices.cpp) -----

std::vector<network::modulator> lower_modulators(const experiment_spec& spec,
                                                 const std::vector<population_rt>& pops,
                                                 const model_registry& models);
void check_inputs(const experiment_spec& spec, const std::vector<population_rt>& pops);
std::vector<report_layout> lower_reports(const experiment_spec& spec,
                                         const std::vector<population_rt>& pops,
                                         step_t n_steps);
// The devices of `spec.inputs` with targets in `part`, and the blocks' update modes.
void make_devices(partition& part, const experiment_spec& spec, const network& net);
// The pieces of every report that lie in `part`.
void make_report_parts(partition& part, const network& net);

// ----- One partition (builder.cpp, synapse_builder.cpp) -----

const block_slot* block_of(const partition& part, const network& net, const population_rt* pop);
void build_synapses(partition& part, const network& net, const std::vector<projection_rt>& projs);

}  // namespace glia::build
