#pragma once
// Declarations shared by the files of the network builder: builder.cpp (the partitions and
// build_network), lowering.cpp (spec -> runtime populations and projections, and the checks
// against the models), synapse_builder.cpp (connectivity rules -> compressed rows) and
// devices.cpp (inputs, reports and modulators). Private to the builder.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/logger.h>

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

// Progress of the synapse build over all partitions, counted in rows of the target-major
// rules (one per target and pass) and logged as "building synapses: 4.2% ..." every 10 s once
// the build has taken more than 2 s (a large spatial network takes minutes or hours).
class build_progress {
public:
    build_progress(spdlog::logger* log, std::uint64_t total_rows) :
        log_(log), total_(total_rows), start_(clock::now()) {}
    void add(std::uint64_t rows) {
        if (log_ == nullptr || total_ == 0) {
            return;
        }
        const std::uint64_t done = done_.fetch_add(rows, std::memory_order_relaxed) + rows;
        if (done % 64 != 0 && done < total_) {
            return;  // the clock is read every 64 rows
        }
        const std::int64_t now = ticks();
        std::int64_t next = next_log_.load(std::memory_order_relaxed);
        if (now < next || !next_log_.compare_exchange_strong(next, now + 10 * per_second)) {
            return;
        }
        const double seconds = static_cast<double>(now) / per_second;
        const double fraction =
            static_cast<double>(std::min(done, total_)) / static_cast<double>(total_);
        log_->info("building synapses: {:.1f}% ({} of {} rows) in {:.0f} s, about {:.0f} s to go",
                   100 * fraction, std::min(done, total_), total_, seconds,
                   fraction > 0 ? seconds * (1 - fraction) / fraction : 0.0);
    }

private:
    using clock = std::chrono::steady_clock;
    static constexpr std::int64_t per_second = 1000;
    std::int64_t ticks() const {
        return std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start_)
            .count();
    }
    spdlog::logger* log_;
    std::uint64_t total_;
    clock::time_point start_;
    std::atomic<std::uint64_t> done_{0};
    std::atomic<std::int64_t> next_log_{2 * per_second};
};

void build_synapses(partition& part, const network& net, const std::vector<projection_rt>& projs,
                    build_progress* progress);

}  // namespace glia::build
