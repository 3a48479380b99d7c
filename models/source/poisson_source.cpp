#include "models/source/poisson_source.hpp"

#include <cmath>
#include <limits>

#include <fmt/format.h>

#include <glia/error.hpp>
#include <glia/rng.hpp>

#include "models/neuron/lowering.hpp"

namespace glia::models {
namespace {

// Parameter indices: the order of model_info::params below.
enum param : std::size_t { rate, start, stop };

// In step n, when start <= n dt < stop, each source spikes iff
//   rng_stream(stream_key(seed, source_spikes), gid, n).uniform() < 1 - exp(-rate dt):
// the probability that a Poisson process of that rate has an event in the step. A draw depends
// only on (seed, gid, n), so spikes do not depend on how the population is partitioned.
class poisson_source_block final: public neuron_block {
public:
    std::unique_ptr<neuron_block> clone() const override {
        return std::make_unique<poisson_source_block>(*this);
    }
    explicit poisson_source_block(const block_args& args):
        key_(stream_key(args.seed, stream::source_spikes)), first_gid_(args.first_gid) {
        const auto& p = args.params;
        first_step_ = whole_steps(p.scalar(start), args.dt, "start");
        last_step_ = std::isinf(p.scalar(stop)) ? std::numeric_limits<step_t>::max()
                                                : whole_steps(p.scalar(stop), args.dt, "stop");
        p_.resize(args.count);
        for (std::size_t k = 0; k < args.count; ++k) {
            const double r = p.at(rate, args.first + k);  // [Hz]
            const double events = r * args.dt * 1e-3;     // expected events per step
            // The tolerance keeps limits such as 1 kHz at dt = 0.1 ms inside despite rounding.
            if (!(events <= poisson_source_max_rate_dt * (1 + 1e-12))) {
                throw error(fmt::format(
                    "poisson_source: rate = {} Hz{} gives rate * dt = {:.4g} events per step at "
                    "dt = {} ms; at most {} is allowed, since a step holds at most one spike "
                    "(the emitted rate would be {:.4g} Hz): use a smaller dt or split the rate "
                    "over several sources",
                    r, p.is_uniform(rate) ? "" : fmt::format(" (neuron {})", args.first + k),
                    events, args.dt, poisson_source_max_rate_dt,
                    -std::expm1(-events) / (args.dt * 1e-3)));
            }
            p_[k] = -std::expm1(-events);
        }
    }

    void advance(step_t now, std::span<const double>, std::span<const double>,
                 std::vector<std::uint32_t>& spiked) override {
        if (now < first_step_ || now >= last_step_) {
            return;
        }
        const std::size_t n = p_.size();
        const auto sub = static_cast<std::uint64_t>(now);
        for (std::size_t i = 0; i < n; ++i) {
            const auto gid = static_cast<std::uint32_t>(first_gid_ + i);
            if (rng_stream(key_, gid, sub).uniform() < p_[i]) {
                spiked.push_back(static_cast<std::uint32_t>(i));
            }
        }
    }

    void sample(std::size_t var, std::span<const std::uint32_t>, std::span<float>) const override {
        throw internal_error(fmt::format("poisson_source has no variable {}", var));
    }

    double value(std::size_t var, std::uint32_t) const override {
        throw internal_error(fmt::format("poisson_source has no variable {}", var));
    }

    // Stateless: a spike is a pure function of (seed, global id, step).
    void save_state(step_t, state_columns&) const override {}
    void load_state(step_t, const state_columns&) override {}

private:
    std::uint64_t key_;      // Philox key of this run's source spikes
    neuron_id first_gid_;    // global id of block neuron 0
    step_t first_step_;      // first active step: start / dt
    step_t last_step_;       // first inactive step: stop / dt
    std::vector<double> p_;  // spike probability per step, per neuron
};

void validate(const value_table& p, std::size_t) {
    if (!(p.scalar(stop) >= p.scalar(start))) {
        throw error(fmt::format("stop ({} ms) must not be before start ({} ms)", p.scalar(stop),
                                p.scalar(start)));
    }
}

std::unique_ptr<neuron_block> make(const block_args& args) {
    return std::make_unique<poisson_source_block>(args);
}

}  // namespace

neuron_model poisson_source_model() {
    model_info info;
    info.name = "poisson_source";
    info.aliases = {"SpikeSourcePoisson"};
    info.doc = "independent Poisson spike sources, at most one spike per step";
    info.params = {
        {"rate", dimension::rate, std::numeric_limits<double>::quiet_NaN(),
         "mean firing rate (required)", value_range::non_negative, true},
        {"start", dimension::time, 0.0, "first time at which a step may emit",
         value_range::non_negative},
        {"stop", dimension::time, std::numeric_limits<double>::infinity(),
         "time from which no step emits", value_range::non_negative},
    };
    return neuron_model{std::move(info), validate, make};
}

}  // namespace glia::models
