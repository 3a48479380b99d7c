// The sections that say what a run records and measures: record (spikes, reports, weights),
// output, metrics, protocol (two_phase with its dataset, timeseries) and readout.

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include <fmt/format.h>

#include "io/config_yaml_detail.hpp"

namespace glia::io::config_yaml_detail {
namespace {

// The ridge penalty (readout.ridge.lambdas, protocol.task.ridge_lambda). The Cholesky
// factorisation of the regularised normal equations resolves lambda only above about 1e-13
// times their diagonal, which for standardised features is the number of training rows
// (measured: 1e-12 fails with 202 rows, 1e-11 solves); 1e-6 holds up to the 1e7 rows of the
// longest timeseries task. Far below the top of double: the equations stay finite.
constexpr double min_ridge_lambda = 1e-6;
constexpr double max_ridge_lambda = 1e12;
constexpr const char* ridge_lambda_range =
    " must be in [1e-6, 1e12] (a smaller penalty is below what the ridge solver resolves), got ";

bool ridge_lambda_ok(double l) {
    return l >= min_ridge_lambda && l <= max_ridge_lambda;
}

}  // namespace

record_spec loader::read_record(const yaml_map& root,
                                const std::vector<projection_spec>& projections) {
    record_spec rec;
    const entry* record = root.find("record");
    const entry* spikes = nullptr;
    std::optional<yaml_map> m;
    if (record != nullptr) {
        m = as_map(record->value, "record");
        check_keys(*m, {"spikes", "reports", "weights"});
        spikes = m->find("spikes");
    }
    if (spikes == nullptr || (spikes->value.IsScalar() && spikes->value.Scalar() == "all")) {
        for (const auto& p: populations_) {
            if (p.model->info.emits_spikes) {  // astrocytes have no spikes to record
                rec.spikes.push_back(p.name);
            }
        }
    } else if (spikes->value.IsScalar() && spikes->value.Scalar() == "none") {
        // nothing recorded
    } else if (spikes->value.IsSequence()) {
        for (std::size_t i = 0; i < spikes->value.size(); ++i) {
            const YAML::Node& n = spikes->value[i];
            const population_ref& pop = populations_[population_at(n, item("record.spikes", i))];
            const string& name = pop.name;
            if (std::find(rec.spikes.begin(), rec.spikes.end(), name) != rec.spikes.end()) {
                fail(n, item("record.spikes", i) + ": population '" + name + "' is listed twice");
            }
            if (!pop.model->info.emits_spikes) {
                fail(n, item("record.spikes", i) + ": population '" + name + "' (model " +
                            pop.model->info.name +
                            ") emits no spikes; record its state with a report");
            }
            rec.spikes.push_back(name);
        }
    } else {
        fail(spikes->value, "record.spikes must be all, none or a list of population names "
                            "(e.g. [exc]), got " +
                                shown(spikes->value));
    }
    if (m) {
        if (const entry* reports = m->find("reports")) {
            const yaml_map r = as_map(reports->value, "record.reports");
            std::map<string, string> names;  // report name -> key path that defined it
            for (const auto& e: r.entries) {
                read_report(e, rec.reports, names);
            }
        }
        if (const entry* weights = m->find("weights")) {
            // record.weights: {<projection>: {interval, start, stop}}
            const yaml_map w = as_map(weights->value, "record.weights");
            for (const auto& e: w.entries) {
                const string path = "record.weights." + e.key;
                const projection_spec* proj = nullptr;
                std::vector<string> plastic;
                for (const auto& p: projections) {
                    if (p.name == e.key) {
                        proj = &p;
                    }
                    if (p.synapse != "static" && p.synapse != "sic") {
                        plastic.push_back(p.name);
                    }
                }
                const string choices = plastic.empty() ? "there is none"
                                                       : "plastic projections are: " + join(plastic);
                if (proj == nullptr) {
                    fail(e.key_node, path + ": no projection '" + e.key + "'; " + choices);
                }
                if (proj->synapse == "static" || proj->synapse == "sic") {
                    fail(e.key_node, path + ": projection '" + e.key + "' is " + proj->synapse +
                                         " (its weights never change); " + choices);
                }
                const yaml_map wm = as_map(e.value, path);
                check_keys(wm, {"interval", "start", "stop"});
                weight_record_spec ws;
                ws.projection = e.key;
                ws.where = where(wm.node);
                if (const entry* i = wm.find("interval")) {
                    ws.interval = time_at(i->value, sub(path, "interval"));
                    if (!(ws.interval >= dt_) || !on_grid(ws.interval, dt_)) {
                        fail(i->value, fmt::format("{} must be a multiple of dt = {} ms, got {} ms",
                                                   sub(path, "interval"), dt_, ws.interval));
                    }
                }
                if (const entry* t = wm.find("start")) {
                    ws.start = time_at(t->value, sub(path, "start"));
                    if (!(ws.start >= 0)) {
                        fail(t->value, sub(path, "start") + " must be >= 0 ms");
                    }
                }
                if (const entry* t = wm.find("stop")) {
                    ws.stop = time_at(t->value, sub(path, "stop"), true);
                    if (!(ws.stop > ws.start)) {
                        fail(t->value, sub(path, "stop") + " must be after start");
                    }
                }
                rec.weights.push_back(ws);
            }
        }
    }
    return rec;
}

void loader::read_report(const entry& e, std::vector<report_spec>& out,
                         std::map<string, string>& names) {
    const string path = "record.reports." + e.key;
    const yaml_map m = as_map(e.value, path);
    check_keys(m, {"population", "variable", "variables", "neurons", "start", "stop", "interval"});
    report_spec r;
    r.where = where(m.node);
    const population_ref& pop =
        populations_[population_at(required(m, "population"), sub(path, "population"))];
    r.population = pop.name;
    const model_info& info = pop.model->info;

    const entry* variable = m.find("variable");
    const entry* variables = m.find("variables");
    if (variable == nullptr && variables == nullptr) {
        fail(m.node, "missing required key 'variable' in '" + path +
                         "' (or 'variables' with a list of names)");
    }
    if (variable != nullptr && variables != nullptr) {
        fail(override_label(variables->value) ? variables->value : variables->key_node,
             path + ": give either variable or variables, not both");
    }
    std::vector<string> known;
    for (const auto& v: info.variables) {
        known.push_back(v.name);
    }
    auto check_variable = [&](const YAML::Node& n, const string& v_path) {
        const string& name = text_at(n, v_path, "a variable name");
        if (info.variable_index(name) == model_info::npos) {
            fail(n, v_path + ": model " + info.name + " has no variable '" + name + "'; " +
                        (known.empty() ? "it has no recordable variables"
                                       : "variables are: " + join(known)));
        }
        return name;
    };
    std::vector<std::pair<string, YAML::Node>> chosen;  // variable, its node
    if (variable != nullptr) {
        chosen.emplace_back(check_variable(variable->value, sub(path, "variable")),
                            variable->value);
    } else {
        const string v_path = sub(path, "variables");
        const YAML::Node& list = variables->value;
        if (!list.IsSequence() || list.size() == 0) {
            fail(list, v_path + " must be a non-empty list of variable names, got " + shown(list));
        }
        for (std::size_t i = 0; i < list.size(); ++i) {
            const string name = check_variable(list[i], item(v_path, i));
            for (const auto& [prev, node]: chosen) {
                if (prev == name) {
                    fail(list[i], item(v_path, i) + ": variable '" + name + "' is listed twice");
                }
            }
            chosen.emplace_back(name, list[i]);
        }
    }

    if (const entry* n = m.find("neurons")) {
        r.neurons = neurons_at(n->value, sub(path, "neurons"), pop);
    }
    if (const entry* s = m.find("start")) {
        r.start = time_at(s->value, sub(path, "start"));
        if (!(r.start >= 0)) {
            fail(s->value, sub(path, "start") + " must be >= 0 ms, got " + s->value.Scalar());
        }
    }
    if (const entry* s = m.find("stop")) {
        r.stop = time_at(s->value, sub(path, "stop"), true);
        if (!(r.stop > r.start)) {
            fail(s->value, fmt::format("{} must be after start ({} ms), got {}", sub(path, "stop"),
                                       r.start, s->value.Scalar()));
        }
    }
    if (const entry* i = m.find("interval")) {
        r.interval = time_at(i->value, sub(path, "interval"));
        if (auto problem =
                steps_problem(sub(path, "interval"), r.interval, i->value.Scalar(), dt_)) {
            fail(i->value, *problem);
        }
    }

    for (const auto& [name, node]: chosen) {
        report_spec one = r;
        one.variable = name;
        one.name = variables != nullptr ? e.key + "." + name : e.key;
        if (auto [it, fresh] = names.emplace(one.name, path); !fresh) {
            fail(variables != nullptr ? node : m.node,
                 path + ": report name '" + one.name + "' is already used by " + it->second);
        }
        out.push_back(std::move(one));
    }
}

output_spec loader::read_output(const yaml_map& root) {
    output_spec out;
    out.path = "results/" + std::filesystem::path(file_).stem().string() + ".h5";
    out.where = where(root.node);
    out.file_where = out.where;
    const entry* output = root.find("output");
    if (output == nullptr) {
        return out;
    }
    const yaml_map m = as_map(output->value, "output");
    check_keys(m, {"file", "flush_interval"});
    out.where = where(m.node);
    out.file_where = out.where;
    if (const entry* f = m.find("file")) {
        out.path = text_at(f->value, "output.file", "a file name");
        out.file_where = where(f->value);
        if (out.path.empty()) {
            fail(f->value, "output.file must not be empty");
        }
    }
    if (const entry* f = m.find("flush_interval")) {
        const quantity q = quantity_at(f->value, "output.flush_interval", {dimension::time});
        if (q.dim == dimension::none) {
            fail(f->value,
                 "output.flush_interval needs a unit (e.g. '5 s'), got " + shown(f->value));
        }
        if (!(q.value > 0)) {
            fail(f->value, "output.flush_interval must be > 0 s, got " + f->value.Scalar());
        }
        out.flush_interval = q.value / 1000.0;  // [ms] -> [s]
    }
    return out;
}

// metrics.branching_factor: {populations, bin, delta_t, start, stop}. Every time is checked
// against dt, the bin and the duration here, so that the run cannot fail on it afterwards.
metrics_spec loader::read_metrics(const yaml_map& root, const simulation_spec& sim) {
    metrics_spec out;
    const entry* metrics = root.find("metrics");
    if (metrics == nullptr) {
        return out;
    }
    const yaml_map m = as_map(metrics->value, "metrics");
    check_keys(m, {"branching_factor"});
    const entry* bf_entry = m.find("branching_factor");
    if (bf_entry == nullptr) {
        return out;
    }
    const string path = "metrics.branching_factor";
    const yaml_map bm = as_map(bf_entry->value, path);
    check_keys(bm, {"populations", "bin", "delta_t", "start", "stop"});
    branching_factor_spec& bf = out.branching_factor;
    bf.enabled = true;
    bf.where = where(bm.node);

    const string pops_path = sub(path, "populations");
    const YAML::Node& pops = required(bm, "populations");
    if (!pops.IsSequence() || pops.size() == 0) {
        fail(pops, pops_path + " must be a non-empty list of population names (e.g. [exc, inh]), "
                               "got " +
                       (pops.IsSequence() ? string("an empty list") : shown(pops)));
    }
    for (std::size_t i = 0; i < pops.size(); ++i) {
        const population_ref& pop = populations_[population_at(pops[i], item(pops_path, i))];
        if (std::find(bf.populations.begin(), bf.populations.end(), pop.name) !=
            bf.populations.end()) {
            fail(pops[i], item(pops_path, i) + ": population '" + pop.name + "' is listed twice");
        }
        if (!pop.model->info.emits_spikes) {
            fail(pops[i], item(pops_path, i) + ": population '" + pop.name + "' (model " +
                              pop.model->info.name + ") emits no spikes");
        }
        bf.populations.push_back(pop.name);
    }

    if (const entry* e = bm.find("bin")) {
        bf.bin = time_at(e->value, sub(path, "bin"));
        if (auto problem = steps_problem(sub(path, "bin"), bf.bin, e->value.Scalar(), dt_)) {
            fail(e->value, *problem);
        }
    } else if (!on_grid(bf.bin, dt_)) {
        fail(bm.node, fmt::format("{}.bin: the default bin of {} ms is not a multiple of dt = {} "
                                  "ms; give a bin",
                                  path, bf.bin, dt_));
    }
    // A time that must be a whole number of bins (default values are: 4 ms and 0 ms are).
    const auto check_bins = [&](const YAML::Node& n, const string& key, double t) {
        if (!on_grid(t, bf.bin)) {
            fail(n, fmt::format("{}.{} = {} ms is not a multiple of bin = {} ms", path, key, t,
                                bf.bin));
        }
    };
    const entry* delta_t = bm.find("delta_t");
    if (delta_t != nullptr) {
        bf.delta_t = time_at(delta_t->value, sub(path, "delta_t"));
        if (!(bf.delta_t > 0)) {
            fail(delta_t->value, sub(path, "delta_t") + " must be > 0 ms, got " +
                                     delta_t->value.Scalar());
        }
        check_bins(delta_t->value, "delta_t", bf.delta_t);
    } else if (!on_grid(bf.delta_t, bf.bin)) {
        fail(bm.node, fmt::format("{}.delta_t: the default of {} ms is not a multiple of bin = {} "
                                  "ms; give delta_t",
                                  path, bf.delta_t, bf.bin));
    }
    const entry* start = bm.find("start");
    if (start != nullptr) {
        bf.start = time_at(start->value, sub(path, "start"));
        if (!(bf.start >= 0)) {
            fail(start->value, sub(path, "start") + " must be >= 0 ms, got " +
                                   start->value.Scalar());
        }
        check_bins(start->value, "start", bf.start);
    }
    // The end of the run on the bin grid: the last whole bin.
    const double end = std::floor(sim.duration / bf.bin + 1e-9) * bf.bin;  // [ms]
    const entry* stop = bm.find("stop");
    double stop_ms = end;
    if (stop != nullptr) {
        bf.stop = time_at(stop->value, sub(path, "stop"), true);
        if (!(bf.stop > bf.start)) {
            fail(stop->value, fmt::format("{} must be after start ({} ms), got {}",
                                          sub(path, "stop"), bf.start, stop->value.Scalar()));
        }
        if (std::isfinite(bf.stop)) {
            check_bins(stop->value, "stop", bf.stop);
            if (bf.stop > sim.duration * (1 + 1e-12)) {
                fail(stop->value, fmt::format("{} = {} ms is after the end of the run "
                                              "(simulation.duration = {} ms)",
                                              sub(path, "stop"), bf.stop, sim.duration));
            }
            stop_ms = bf.stop;
        }
    }
    // Spikes are evaluated in [start + delta_t, stop - delta_t): that range must hold a bin.
    if (!(stop_ms - bf.start > 2 * bf.delta_t * (1 + 1e-12))) {
        const YAML::Node& at = stop != nullptr    ? stop->value
                               : start != nullptr ? start->value
                               : delta_t != nullptr ? delta_t->value
                                                    : bm.node;
        fail(at, fmt::format("{}: the window [{}, {}) ms is too short for delta_t = {} ms: spikes "
                             "are evaluated in [start + delta_t, stop - delta_t), so stop - start "
                             "must exceed 2 delta_t",
                             path, bf.start, stop_ms, bf.delta_t));
    }
    if (stop_ms / bf.bin >= static_cast<double>(std::numeric_limits<std::uint32_t>::max())) {
        fail(stop != nullptr ? stop->value : bm.node,
             fmt::format("{}: the window ends at bin {:.0f}; at most {} bins are supported (use a "
                         "larger bin or an earlier stop)",
                         path, stop_ms / bf.bin, std::numeric_limits<std::uint32_t>::max() - 1));
    }
    return out;
}

// protocol: {type: two_phase | timeseries, ...} (docs/config_reference.md, "protocol").
protocol_spec loader::read_protocol(const yaml_map& root, const experiment_spec& spec) {
    protocol_spec p;
    const entry* e = root.find("protocol");
    if (e == nullptr) {
        return p;
    }
    const yaml_map m = as_map(e->value, "protocol");
    p.where = where(m.node);
    const YAML::Node& type = required(m, "type");
    const string& word = text_at(type, "protocol.type", "two_phase or timeseries");
    if (word == "two_phase") {
        p.type = protocol_spec::kind::two_phase;
        read_two_phase(m, p, spec);
    } else if (word == "timeseries") {
        p.type = protocol_spec::kind::timeseries;
        read_timeseries(m, p, spec);
    } else {
        fail(type, "protocol.type must be one of: two_phase, timeseries; got " + shown(type));
    }
    return p;
}

dataset_spec loader::read_dataset(const YAML::Node& n, const string& path) {
    const yaml_map m = as_map(n, path);
    check_keys(m, {"format", "path", "images", "labels", "split", "validation", "train_fraction",
                   "validation_fraction", "limit"});
    dataset_spec d;
    d.where = where(m.node);
    const YAML::Node& format = required(m, "format");
    const string& f = text_at(format, sub(path, "format"), "idx_official or idx");
    const auto file_at = [&](string_view key, string& at) {
        const YAML::Node& v = required(m, key);
        at = where(v);
        return data_path(text_at(v, sub(path, string(key)), "a path")).lexically_normal().string();
    };
    if (f == "idx_official") {
        d.kind = dataset_spec::format::idx_official;
        d.path = file_at("path", d.path_where);
        for (const char* k: {"images", "labels"}) {
            if (const entry* x = m.find(k)) {
                fail(x->key_node, sub(path, k) + " is for format idx; idx_official reads the "
                                                 "four official files from " +
                                      sub(path, "path"));
            }
        }
    } else if (f == "idx") {
        d.kind = dataset_spec::format::idx;
        d.images = file_at("images", d.images_where);
        d.labels = file_at("labels", d.labels_where);
        if (const entry* x = m.find("path")) {
            fail(x->key_node, sub(path, "path") + " is for format idx_official; format idx reads " +
                                  sub(path, "images") + " and " + sub(path, "labels"));
        }
    } else {
        fail(format, sub(path, "format") + " must be one of: idx_official, idx; got " +
                         shown(format));
    }
    string split = d.kind == dataset_spec::format::idx ? "fractions" : "nalsm";
    const entry* sp = m.find("split");
    if (sp != nullptr) {
        split = text_at(sp->value, sub(path, "split"), "nalsm or fractions");
        if (split != "nalsm" && split != "fractions") {
            fail(sp->value, sub(path, "split") + " must be one of: nalsm, fractions; got " +
                                shown(sp->value));
        }
    }
    if (split == "nalsm") {
        if (d.kind != dataset_spec::format::idx_official) {
            fail(sp->value, sub(path, "split") + " nalsm needs the official train and test files "
                                                 "(format idx_official); use split: fractions "
                                                 "for a single file");
        }
        d.split = dataset_spec::split_kind::nalsm;
        if (const entry* v = m.find("validation")) {
            d.validation = integer_at(v->value, sub(path, "validation"), 1, 0xffffffffULL);
        }
    } else {
        d.split = dataset_spec::split_kind::fractions;
        auto fraction = [&](string_view key, double& out) {
            if (const entry* x = m.find(key)) {
                out = quantity_at(x->value, sub(path, string(key)), {}).value;
                if (!(out > 0 && out < 1)) {
                    fail(x->value, sub(path, string(key)) + " must be in (0, 1), got " +
                                       x->value.Scalar());
                }
            }
        };
        fraction("train_fraction", d.train_fraction);
        fraction("validation_fraction", d.validation_fraction);
        if (!(d.train_fraction + d.validation_fraction < 1)) {
            fail(m.node, fmt::format("{}: train_fraction + validation_fraction must be < 1 (the "
                                     "rest is the test set), got {} + {}",
                                     path, d.train_fraction, d.validation_fraction));
        }
    }
    if (const entry* l = m.find("limit")) {
        const string lp = sub(path, "limit");
        const yaml_map lm = as_map(l->value, lp);
        check_keys(lm, {"train", "validation", "test"});
        auto limit = [&](string_view key, std::size_t& out) {
            if (const entry* x = lm.find(key)) {
                out = integer_at(x->value, sub(lp, string(key)), 1, 0xffffffffULL);
            }
        };
        limit("train", d.limit_train);
        limit("validation", d.limit_validation);
        limit("test", d.limit_test);
    }
    return d;
}

void loader::read_two_phase(const yaml_map& m, protocol_spec& p, const experiment_spec& spec) {
    check_keys(m, {"type", "input", "state", "dataset", "phase_a", "phase_b", "bins",
                   "final_state", "block", "branching_samples"});
    // input: a dataset_source of the network.
    const YAML::Node& input = required(m, "input");
    p.input = text_at(input, "protocol.input", "the name of a dataset_source input");
    {
        std::vector<string> sources;
        bool found = false;
        for (const auto& in: spec.inputs) {
            if (in.type == input_spec::kind::dataset_source) {
                sources.push_back(in.name);
                found = found || in.name == p.input;
            }
        }
        if (!found) {
            fail(input, "protocol.input: no dataset_source input '" + p.input +
                            "'; dataset_source inputs are: " +
                            (sources.empty() ? string("(none: add one under inputs)")
                                             : join(sources)));
        }
    }
    const YAML::Node& state = required(m, "state");
    const auto add_state = [&](const YAML::Node& n, const string& path) {
        const string name = populations_[population_at(n, path)].name;
        if (std::find(p.state.begin(), p.state.end(), name) != p.state.end()) {
            fail(n, path + ": population '" + name + "' is listed twice");
        }
        p.state.push_back(name);
    };
    if (state.IsSequence() && state.size() > 0) {
        for (std::size_t i = 0; i < state.size(); ++i) {
            add_state(state[i], item("protocol.state", i));
        }
    } else if (state.IsScalar()) {
        add_state(state, "protocol.state");
    } else {
        fail(state, "protocol.state must be a population name or a non-empty list of them, got " +
                        shown(state));
    }
    p.dataset = read_dataset(required(m, "dataset"), "protocol.dataset");
    // A whole number of steps, at least one.
    const auto duration = [&](const YAML::Node& n, const string& path) {
        const double t = time_at(n, path);
        if (!(t >= dt_)) {
            fail(n, fmt::format("{} must be at least one step (dt = {} ms), got {}", path, dt_,
                                n.Scalar()));
        }
        check_grid_time(n, path, t);
        return t;
    };
    if (const entry* a = m.find("phase_a")) {
        const yaml_map am = as_map(a->value, "protocol.phase_a");
        check_keys(am, {"samples", "duration", "shuffle"});
        if (const entry* x = am.find("samples")) {
            p.phase_a_samples = integer_at(x->value, "protocol.phase_a.samples", 0, 0xffffffffULL);
        }
        if (const entry* x = am.find("duration")) {
            p.phase_a_duration = duration(x->value, "protocol.phase_a.duration");
        }
        if (const entry* x = am.find("shuffle")) {
            p.phase_a_shuffle = bool_at(x->value, "protocol.phase_a.shuffle");
        }
    }
    if (const entry* b = m.find("phase_b")) {
        const yaml_map bm = as_map(b->value, "protocol.phase_b");
        check_keys(bm, {"duration", "set"});
        if (const entry* x = bm.find("duration")) {
            p.phase_b_duration = duration(x->value, "protocol.phase_b.duration");
        }
        if (const entry* x = bm.find("set")) {
            as_map(x->value, "protocol.phase_b.set");  // checked and applied by parse()
        }
    }
    if (const entry* x = m.find("bins")) {
        const auto steps = static_cast<std::uint64_t>(std::llround(p.phase_b_duration / dt_));
        p.bins = integer_at(x->value, "protocol.bins", 0, steps);
    }
    if (const entry* x = m.find("final_state")) {
        p.final_state = text_at(x->value, "protocol.final_state", "a state variable name");
        for (const auto& name: p.state) {
            for (const auto& pop: spec.populations) {
                const neuron_model* model = models_.find(pop.model);
                if (pop.name == name && model != nullptr &&
                    model->info.variable_index(p.final_state) == model_info::npos) {
                    fail(x->value, "protocol.final_state: model " + model->info.name +
                                       " of state population '" + name +
                                       "' has no variable '" + p.final_state + "'");
                }
            }
        }
    }
    if (const entry* x = m.find("block")) {
        p.block = integer_at(x->value, "protocol.block", 1, 0xffffffffULL);
    }
    if (const entry* x = m.find("branching_samples")) {
        p.branching_samples = integer_at(x->value, "protocol.branching_samples", 0, 100000);
    }
}

void loader::read_timeseries(const yaml_map& m, protocol_spec& p, const experiment_spec& spec) {
    check_keys(m, {"type", "task", "input", "state"});
    {
        const string sec = "protocol.task";
        const yaml_map t = as_map(required(m, "task"), sec);
        check_keys(t, {"kind", "steps", "step_duration", "k_max", "order", "washout",
                       "train_fraction", "ridge_lambda", "standardize"});
        const YAML::Node& kind = required(t, "kind");
        const string& k = text_at(kind, sub(sec, "kind"), "memory_capacity or narma");
        if (k == "memory_capacity") {
            p.task = protocol_spec::task_kind::memory_capacity;
        } else if (k == "narma") {
            p.task = protocol_spec::task_kind::narma;
        } else {
            fail(kind, sub(sec, "kind") + " must be one of: memory_capacity, narma; got " +
                           shown(kind));
        }
        if (const entry* x = t.find("steps")) {
            p.series_steps = integer_at(x->value, sub(sec, "steps"), 10, 10'000'000);
        }
        if (const entry* x = t.find("step_duration")) {
            p.step_duration = time_at(x->value, sub(sec, "step_duration"));
            if (!(p.step_duration >= dt_)) {
                fail(x->value, fmt::format("{} must be at least dt = {} ms, got {}",
                                           sub(sec, "step_duration"), dt_, x->value.Scalar()));
            }
            check_grid_time(x->value, sub(sec, "step_duration"), p.step_duration);
        }
        if (const entry* x = t.find("k_max")) {
            p.k_max = integer_at(x->value, sub(sec, "k_max"), 1, 10000);
        }
        if (const entry* x = t.find("order")) {
            p.narma_order = integer_at(x->value, sub(sec, "order"), 1, 1000);
        }
        if (const entry* x = t.find("washout")) {
            p.washout = integer_at(x->value, sub(sec, "washout"), 0, p.series_steps - 1);
        }
        if (const entry* x = t.find("train_fraction")) {
            p.train_fraction = quantity_at(x->value, sub(sec, "train_fraction"), {}).value;
            if (!(p.train_fraction > 0 && p.train_fraction < 1)) {
                fail(x->value, sub(sec, "train_fraction") + " must be in (0, 1), got " +
                                   x->value.Scalar());
            }
        }
        if (const entry* x = t.find("ridge_lambda")) {
            p.ridge_lambda = quantity_at(x->value, sub(sec, "ridge_lambda"), {}).value;
            if (!ridge_lambda_ok(p.ridge_lambda)) {
                fail(x->value, sub(sec, "ridge_lambda") + ridge_lambda_range + x->value.Scalar());
            }
        }
        if (const entry* x = t.find("standardize")) {
            p.standardize = bool_at(x->value, sub(sec, "standardize"));
        }
        if (p.task == protocol_spec::task_kind::memory_capacity &&
            p.k_max + p.washout + 20 > p.series_steps) {
            fail(t.node, fmt::format("{}: steps ({}) leaves too few rows after the washout ({}) "
                                     "and k_max ({})",
                                     sec, p.series_steps, p.washout, p.k_max));
        }
    }
    {
        const string sec = "protocol.input";
        const yaml_map in = as_map(required(m, "input"), sec);
        check_keys(in, {"population", "fraction", "gain", "bias"});
        const YAML::Node& pop = required(in, "population");
        const std::size_t i = population_at(pop, sub(sec, "population"));
        p.input_population = populations_[i].name;
        if (!populations_[i].model->info.accepts_current) {
            fail(pop, sub(sec, "population") + ": population '" + p.input_population +
                          "' (model " + populations_[i].model->info.name +
                          ") takes no current, which the series is given as");
        }
        if (const entry* x = in.find("fraction")) {
            p.input_fraction = quantity_at(x->value, sub(sec, "fraction"), {}).value;
            if (!(p.input_fraction > 0 && p.input_fraction <= 1)) {
                fail(x->value, sub(sec, "fraction") + " must be in (0, 1], got " +
                                   x->value.Scalar());
            }
        }
        if (const entry* x = in.find("gain")) {
            p.gain = quantity_at(x->value, sub(sec, "gain"), {dimension::current}).value;
        }
        if (const entry* x = in.find("bias")) {
            p.bias = quantity_at(x->value, sub(sec, "bias"), {dimension::current}).value;
        }
    }
    if (const entry* st = m.find("state")) {
        const string sec = "protocol.state";
        const yaml_map sm = as_map(st->value, sec);
        check_keys(sm, {"populations", "tau", "save"});
        if (const entry* x = sm.find("populations")) {
            if (!x->value.IsSequence() || x->value.size() == 0) {
                fail(x->value, sub(sec, "populations") + " must be a non-empty list of population "
                                                         "names, got " + shown(x->value));
            }
            for (std::size_t i = 0; i < x->value.size(); ++i) {
                const string path = item(sub(sec, "populations"), i);
                const string name = populations_[population_at(x->value[i], path)].name;
                if (std::find(p.state.begin(), p.state.end(), name) != p.state.end()) {
                    fail(x->value[i], path + ": population '" + name + "' is listed twice");
                }
                p.state.push_back(name);
            }
        }
        if (const entry* x = sm.find("tau")) {
            p.tau = time_at(x->value, sub(sec, "tau"));
            if (!(p.tau > 0)) {
                fail(x->value, sub(sec, "tau") + " must be > 0 ms, got " + x->value.Scalar());
            }
        }
        if (const entry* x = sm.find("save")) {
            p.save_states = bool_at(x->value, sub(sec, "save"));
        }
    }
    (void)spec;
}

readout_spec loader::read_readout(const yaml_map& root) {
    readout_spec r;
    const entry* e = root.find("readout");
    if (e == nullptr) {
        return r;
    }
    const string sec = "readout";
    const yaml_map m = as_map(e->value, sec);
    r.where = where(m.node);
    check_keys(m, {"method", "features", "softmax", "ridge"});
    if (const entry* x = m.find("method")) {
        const string& v = text_at(x->value, "readout.method", "softmax, ridge or both");
        if (v == "softmax") {
            r.kind = readout_spec::method::softmax;
        } else if (v == "ridge") {
            r.kind = readout_spec::method::ridge;
        } else if (v == "both") {
            r.kind = readout_spec::method::both;
        } else {
            fail(x->value, "readout.method must be one of: softmax, ridge, both; got " +
                               shown(x->value));
        }
    }
    if (const entry* x = m.find("features")) {
        const string& v = text_at(x->value, "readout.features", "counts or all");
        if (v == "counts") {
            r.features = readout_spec::feature_set::counts;
        } else if (v == "all") {
            r.features = readout_spec::feature_set::all;
        } else {
            fail(x->value, "readout.features must be one of: counts, all; got " + shown(x->value));
        }
    }
    const auto positive = [&](const yaml_map& mm, string_view key, const string& path,
                              double& out, double max) {
        if (const entry* x = mm.find(key)) {
            out = quantity_at(x->value, sub(path, string(key)), {}).value;
            if (!(out > 0 && out <= max)) {
                fail(x->value, fmt::format("{} must be in (0, {}], got {}", sub(path, string(key)),
                                           max, x->value.Scalar()));
            }
        }
    };
    if (const entry* x = m.find("softmax")) {
        const string sp = "readout.softmax";
        const yaml_map sm = as_map(x->value, sp);
        check_keys(sm, {"learning_rate", "rho", "epsilon", "l2_beta", "batch_size",
                        "max_epochs", "patience", "shuffle", "train_curve"});
        positive(sm, "learning_rate", sp, r.learning_rate, 1e6);
        if (const entry* y = sm.find("rho")) {
            r.rho = quantity_at(y->value, sub(sp, "rho"), {}).value;
            if (!(r.rho >= 0 && r.rho < 1)) {  // Adadelta's decay: 1 would never update
                fail(y->value, sub(sp, "rho") + " must be in [0, 1), got " + y->value.Scalar());
            }
        }
        positive(sm, "epsilon", sp, r.epsilon, 1);
        if (const entry* y = sm.find("l2_beta")) {
            r.l2_beta = quantity_at(y->value, sub(sp, "l2_beta"), {}).value;
            if (!(r.l2_beta >= 0 && r.l2_beta <= 1e6)) {
                fail(y->value, sub(sp, "l2_beta") + " must be in [0, 1e6], got " +
                                   y->value.Scalar());
            }
        }
        if (const entry* y = sm.find("batch_size")) {
            r.batch_size = integer_at(y->value, sub(sp, "batch_size"), 1, 0xffffffffULL);
        }
        if (const entry* y = sm.find("max_epochs")) {
            r.max_epochs = integer_at(y->value, sub(sp, "max_epochs"), 1, 1'000'000);
        }
        if (const entry* y = sm.find("patience")) {
            r.patience = integer_at(y->value, sub(sp, "patience"), 0, 1'000'000);
        }
        if (const entry* y = sm.find("shuffle")) {
            r.shuffle = bool_at(y->value, sub(sp, "shuffle"));
        }
        if (const entry* y = sm.find("train_curve")) {
            r.train_curve = bool_at(y->value, sub(sp, "train_curve"));
        }
    }
    if (const entry* x = m.find("ridge")) {
        const string rp = "readout.ridge";
        const yaml_map rm = as_map(x->value, rp);
        check_keys(rm, {"lambdas", "standardize"});
        if (const entry* y = rm.find("lambdas")) {
            if (!y->value.IsSequence() || y->value.size() == 0) {
                fail(y->value, sub(rp, "lambdas") + " must be a non-empty list of numbers, got " +
                                   shown(y->value));
            }
            r.lambdas.clear();
            for (std::size_t i = 0; i < y->value.size(); ++i) {
                const double l = quantity_at(y->value[i], item(sub(rp, "lambdas"), i), {}).value;
                if (!ridge_lambda_ok(l)) {
                    fail(y->value[i],
                         item(sub(rp, "lambdas"), i) + ridge_lambda_range + y->value[i].Scalar());
                }
                r.lambdas.push_back(l);
            }
        }
        if (const entry* y = rm.find("standardize")) {
            r.ridge_standardize = bool_at(y->value, sub(rp, "standardize"));
        }
    }
    return r;
}

}  // namespace glia::io::config_yaml_detail
