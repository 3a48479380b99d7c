#include "models/modulator/nalsm_astrocyte.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include <glia/error.hpp>
#include <glia/rng.hpp>

namespace glia::models {
namespace {

enum param : std::size_t { w, b, tau, initial, rho, decay, regions };
enum role : std::size_t { excite, inhibit };

// NALSM's astrocyte (science-spec §1.5, NALSM_ASTRO.py), at time t*dt with C(t) the signed
// count of the spikes it reads that happen at time t (emitted in step t - 1):
//   A(s) = initial at the start s of a run or trial;
//   A(t + 1) = A(t) + [w_A C(t) + dt (b_A - A(t))] / tau_A, then with decay != 1
//   A(t + 1), w_A, b_A each times decay.
// No spike happens at time s, so A(s + 1) follows from A(s) alone, as in NALSM, where S(0) = 0.
// With regions (r1 x r2 x r3 blocks of the excite neurons' positions) each region integrates
// the excite spikes inside it and 1/n_regions of every inhibit spike. Levels are time-indexed:
// a rule pairing spikes at time t reads level_at(t) (docs/models/nalsm_astrocyte.md).
class nalsm_astrocyte_block final: public modulator_block {
public:
    nalsm_astrocyte_block(const modulator_args& a, std::shared_ptr<const std::vector<std::int8_t>> sign,
                          std::shared_ptr<const std::vector<std::uint32_t>> region_of,
                          std::size_t n_regions) :
        sign_(std::move(sign)) {
        const auto& p = a.params;
        w0_ = p.scalar(w);
        b0_ = p.scalar(b);
        tau_ = p.scalar(tau);
        a0_ = p.scalar(initial);
        decay_ = p.scalar(decay);
        dt_ = a.dt;
        history_.n_regions = n_regions;
        history_.region_of = std::move(region_of);
        count_.assign(n_regions, 0.0);
        inv_regions_ = 1.0 / static_cast<double>(n_regions);
        begin_trial(0);
    }

    void advance(step_t, step_t to, std::span<const spike_event> spikes) override {
        // Levels are known up to time level_end() - 1; the spikes of step u happen at u + 1 and
        // give A(u + 2). `spikes` are in step order.
        const std::size_t R = history_.n_regions;
        const std::int8_t* sign = sign_->data();
        auto s = spikes.begin();
        for (step_t u = history_.level_end() - 2; u < to; ++u) {
            std::fill(count_.begin(), count_.end(), 0.0);
            double shared = 0;  // inhibit spikes: 1 / n_regions to every region
            for (; s != spikes.end() && s->step <= u; ++s) {
                if (s->step < u) {
                    continue;
                }
                const std::int8_t g = sign[s->gid];
                if (g > 0) {
                    count_[history_.region(s->gid)] += 1.0;
                } else if (g < 0) {
                    shared += 1.0;
                }
            }
            step(shared * inv_regions_);
        }
        (void)R;
    }

    step_t latency() const override { return 2; }

    void begin_trial(step_t now) override {
        w_ = w0_;
        b_ = b0_;
        history_.level_first = now;
        history_.level.assign(history_.n_regions, a0_);
        std::fill(count_.begin(), count_.end(), 0.0);
        step(0.0);  // A(now + 1): no spike happens at time now
    }

    bool records_level() const override { return true; }

    void save_state(state_columns& out) const override {
        out.put("level", std::span<const double>(history_.level));
        const std::int64_t first[1] = {history_.level_first};
        out.put("level_first", std::span<const std::int64_t>(first));
        const double wb[2] = {w_, b_};
        out.put("w_b", std::span<const double>(wb));
    }
    void load_state(const state_columns& in) override {
        const auto* c = in.find("level");
        if (c == nullptr) {
            throw error("nalsm_astrocyte: the state has no column 'level'");
        }
        history_.level.resize(c->size());
        in.get("level", std::span<double>(history_.level));
        std::int64_t first[1] = {0};
        in.get("level_first", std::span<std::int64_t>(first));
        history_.level_first = first[0];
        double wb[2] = {0, 0};
        in.get("w_b", std::span<double>(wb));
        w_ = wb[0];
        b_ = wb[1];
    }

    std::unique_ptr<modulator_block> clone() const override {
        return std::make_unique<nalsm_astrocyte_block>(*this);
    }

private:
    // Appends A(t + 1) of every region from A(t) (the last row) and this step's counts.
    void step(double shared) {
        const std::size_t R = history_.n_regions;
        const std::size_t last = history_.level.size() - R;
        for (std::size_t r = 0; r < R; ++r) {
            const double a = history_.level[last + r];
            const double c = count_[r] - shared;
            double next = a + (w_ * c + dt_ * (b_ - a)) / tau_;
            if (decay_ != 1.0) {
                next *= decay_;
            }
            history_.level.push_back(next);
        }
        if (decay_ != 1.0) {
            w_ *= decay_;
            b_ *= decay_;
        }
    }

    std::shared_ptr<const std::vector<std::int8_t>> sign_;  // per global id: +1, -1, 0 (unread)
    double w0_ = 0, b0_ = 0, tau_ = 100, a0_ = 0, decay_ = 1, dt_ = 1;
    double w_ = 0, b_ = 0;  // w_A, b_A now
    double inv_regions_ = 1;
    std::vector<double> count_;  // scratch: excite spikes per region in one step
};

void validate(const value_table& p, std::span<const std::vector<std::string>> roles) {
    if (roles[excite].empty() && roles[inhibit].empty()) {
        throw error("a nalsm_astrocyte reads at least one population: give excite (spikes "
                    "count +1) and/or inhibit (spikes count -1)");
    }
    if (!(p.scalar(decay) > 0)) {
        throw error(fmt::format("decay must be in (0, 1], got {}", p.scalar(decay)));
    }
    for (std::size_t a = 0; a < 3; ++a) {
        const double r = p.at(regions, a);
        if (!(r >= 1) || r != std::floor(r) || r > 65535) {
            throw error(fmt::format("regions must be whole numbers from 1 to 65535 per axis, "
                                    "got {}",
                                    r));
        }
    }
}

double coordinate(const position& p, std::size_t axis) {
    return axis == 0 ? p.x : axis == 1 ? p.y : p.z;
}

// The regions of the excite neurons: each axis of their positions' bounding box cut into
// r_a equal parts. The extent of an axis is max - min plus the smallest gap between distinct
// coordinates on it, so a lattice 0..d-1 with spacing 1 gives region floor(x r_a / d) (NALSM).
std::vector<std::uint32_t> regions_of(const modulator_args& a, std::array<std::uint32_t, 3> r) {
    std::vector<std::uint32_t> out(a.n_neurons, 0);
    const auto& pops = a.roles[excite];
    for (const auto& pop: pops) {
        if (pop.positions.size() != pop.size) {
            throw error(fmt::format("regions need positions: excite population '{}' has none "
                                    "(give it positions:)",
                                    pop.name));
        }
    }
    std::array<double, 3> lo{}, extent{};
    for (std::size_t ax = 0; ax < 3; ++ax) {
        std::vector<double> coords;
        for (const auto& pop: pops) {
            for (const auto& p: pop.positions) {
                coords.push_back(coordinate(p, ax));
            }
        }
        std::sort(coords.begin(), coords.end());
        coords.erase(std::unique(coords.begin(), coords.end()), coords.end());
        if (coords.size() < r[ax]) {
            throw error(fmt::format("{} regions along axis {}, but the excite neurons have only "
                                    "{} distinct coordinates on it",
                                    r[ax], ax + 1, coords.size()));
        }
        double gap = 1.0;
        if (coords.size() > 1) {
            gap = coords[1] - coords[0];
            for (std::size_t k = 2; k < coords.size(); ++k) {
                gap = std::min(gap, coords[k] - coords[k - 1]);
            }
        }
        lo[ax] = coords.front();
        extent[ax] = coords.back() - coords.front() + gap;
    }
    for (const auto& pop: pops) {
        for (std::size_t k = 0; k < pop.size; ++k) {
            std::array<std::uint32_t, 3> c{};
            for (std::size_t ax = 0; ax < 3; ++ax) {
                const double f = (coordinate(pop.positions[k], ax) - lo[ax]) / extent[ax];
                c[ax] = std::min<std::uint32_t>(
                    r[ax] - 1, static_cast<std::uint32_t>(std::floor(f * r[ax] + 1e-9)));
            }
            out[pop.first_gid + k] = (c[0] * r[1] + c[1]) * r[2] + c[2];
        }
    }
    return out;
}

std::unique_ptr<modulator_block> make(const modulator_args& a) {
    // The sign of every global id: exactly round(rho n) neurons of each listed population,
    // chosen without replacement by a partial Fisher-Yates shuffle from the stream
    // (astrocyte_mask, modulator index, position of the population in excite then inhibit).
    auto sign = std::make_shared<std::vector<std::int8_t>>(a.n_neurons, 0);
    const double fraction = a.params.scalar(rho);
    std::uint64_t position = 0;
    for (std::size_t role = 0; role < 2; ++role) {
        for (const auto& pop: a.roles[role]) {
            const std::size_t n = pop.size;
            const auto k =
                static_cast<std::size_t>(std::llround(fraction * static_cast<double>(n)));
            std::vector<std::uint32_t> order(n);
            std::iota(order.begin(), order.end(), 0U);
            rng_stream rng(stream_key(a.seed, stream::astrocyte_mask),
                           static_cast<std::uint32_t>(a.index), position);
            for (std::size_t q = 0; q < k && q + 1 < n; ++q) {
                const std::size_t r = q + static_cast<std::size_t>(rng.below(n - q));
                std::swap(order[q], order[r]);
            }
            for (std::size_t q = 0; q < k; ++q) {
                (*sign)[pop.first_gid + order[q]] = role == excite ? 1 : -1;
            }
            ++position;
        }
    }
    const std::array<std::uint32_t, 3> r = {static_cast<std::uint32_t>(a.params.at(regions, 0)),
                                            static_cast<std::uint32_t>(a.params.at(regions, 1)),
                                            static_cast<std::uint32_t>(a.params.at(regions, 2))};
    const std::size_t n_regions = std::size_t{r[0]} * r[1] * r[2];
    std::shared_ptr<const std::vector<std::uint32_t>> region_of;
    if (n_regions > 1) {
        region_of = std::make_shared<const std::vector<std::uint32_t>>(regions_of(a, r));
    }
    return std::make_unique<nalsm_astrocyte_block>(a, std::move(sign), std::move(region_of),
                                                   n_regions);
}

}  // namespace

modulator_model nalsm_astrocyte_model() {
    modulator_model m;
    m.info.name = "nalsm_astrocyte";
    m.info.doc = "NALSM's astrocyte: a leaky integrator of excite minus inhibit spikes whose "
                 "level sets astro_stdp's depression";
    m.info.params = {
        {"w", dimension::none, 0.015, "w_A: weight of the net spike count per step"},
        {"b", dimension::none, 0.15, "b_A: bias (in the weight unit of the rules that read A)"},
        {"tau", dimension::time, 100.0, "tau_A", value_range::positive},
        {"initial", dimension::none, 0.15, "A at the start of a run or trial"},
        {"rho", dimension::none, 1.0, "fraction of each listed population read, [0, 1]",
         value_range::unit_interval},
        {"decay", dimension::none, 1.0, "factor per step on A, w_A and b_A, (0, 1]",
         value_range::unit_interval},
        {"regions", dimension::none, 1.0,
         "regions per axis of the excite neurons' positions (one astrocyte each)",
         value_range::positive, false, {}, false, false, 3},
    };
    m.roles = {{"excite", "populations whose spikes count +1 (the liquid)"},
               {"inhibit", "populations whose spikes count -1 (the input)"}};
    m.output = modulator_output::level;
    m.validate = validate;
    m.make_block = make;
    return m;
}

}  // namespace glia::models
