#include "io/reservoir_config.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include <fmt/format.h>

#include <glia/error.hpp>

#include "io/units.hpp"
#include "io/yaml_reader.hpp"

namespace glia::io {

namespace {

using reservoir::nalsm_experiment;
using std::string;
namespace nalsm = reservoir::nalsm;

constexpr std::uint64_t big = std::numeric_limits<std::uint32_t>::max();

string read_text(const string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw error("cannot open experiment file '" + path + "'");
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// A data path: relative ones are relative to the experiment file's directory.
string data_path(const string& file_name, const string& p) {
    const std::filesystem::path path(p);
    if (path.is_absolute()) {
        return p;
    }
    return (std::filesystem::path(file_name).parent_path() / path).lexically_normal().string();
}

void read_dataset(const yaml_reader& r, const YAML::Node& root, nalsm_experiment& x) {
    const string sec = "dataset";
    const YAML::Node n = r.required(root, "", sec);
    r.check_keys(n, sec, {"format", "path", "images", "labels", "split", "validation",
                          "train_fraction", "validation_fraction", "limit"});
    auto& d = x.dataset;
    const string format = r.choice(r.required(n, sec, "format"), sec + ".format",
                                   {"idx_official", "idx"});
    if (format == "idx_official") {
        d.kind = reservoir::dataset_spec::format::idx_official;
        d.path = data_path(r.file(), r.text(r.required(n, sec, "path"), sec + ".path"));
        for (const char* k: {"images", "labels"}) {
            if (r.child(n, k).IsDefined()) {
                r.fail(r.child(n, k), sec + "." + k,
                       fmt::format("dataset.{} is for format idx; idx_official reads the four "
                                   "official files from dataset.path",
                                   k));
            }
        }
    } else {
        d.kind = reservoir::dataset_spec::format::idx;
        d.images = data_path(r.file(), r.text(r.required(n, sec, "images"), sec + ".images"));
        d.labels = data_path(r.file(), r.text(r.required(n, sec, "labels"), sec + ".labels"));
        if (r.child(n, "path").IsDefined()) {
            r.fail(r.child(n, "path"), sec + ".path",
                   "dataset.path is for format idx_official; format idx reads dataset.images and "
                   "dataset.labels");
        }
    }
    const YAML::Node split = r.child(n, "split");
    const string kind = split.IsDefined()
                            ? r.choice(split, sec + ".split", {"nalsm", "fractions"})
                            : (d.kind == reservoir::dataset_spec::format::idx ? "fractions"
                                                                              : "nalsm");
    if (kind == "nalsm") {
        if (d.kind != reservoir::dataset_spec::format::idx_official) {
            r.fail(split, sec + ".split",
                   "dataset.split nalsm needs the official train and test files (format "
                   "idx_official); use split: fractions for a single file");
        }
        d.split = reservoir::dataset_spec::split_kind::nalsm;
        d.validation = r.integer_or(n, sec, "validation", 10000, 1, big);
    } else {
        d.split = reservoir::dataset_spec::split_kind::fractions;
        d.train_fraction = r.number_or(n, sec, "train_fraction", 0.8, 0, 1, true);
        d.validation_fraction = r.number_or(n, sec, "validation_fraction", 0.1, 0, 1, true);
        if (d.train_fraction + d.validation_fraction >= 1) {
            r.fail(n, sec, fmt::format("dataset.train_fraction + validation_fraction must be < 1 "
                                       "(the rest is the test set), got {} + {}",
                                       d.train_fraction, d.validation_fraction));
        }
    }
    const YAML::Node limit = r.child(n, "limit");
    r.check_keys(limit, sec + ".limit", {"train", "validation", "test"});
    if (limit.IsDefined()) {
        const string lp = sec + ".limit";
        if (r.child(limit, "train").IsDefined()) {
            d.limit_train = r.integer(r.child(limit, "train"), lp + ".train", 1, big);
        }
        if (r.child(limit, "validation").IsDefined()) {
            d.limit_validation = r.integer(r.child(limit, "validation"), lp + ".validation", 1,
                                           big);
        }
        if (r.child(limit, "test").IsDefined()) {
            d.limit_test = r.integer(r.child(limit, "test"), lp + ".test", 1, big);
        }
    }
}

void read_liquid(const yaml_reader& r, const YAML::Node& root, nalsm_experiment& x) {
    const string sec = "liquid";
    const YAML::Node n = r.child(root, sec);
    r.check_keys(n, sec, {"grid", "excitatory_fraction", "lambda", "C", "input_density", "w_init"});
    auto& l = x.liquid;
    if (r.child(n, "grid").IsDefined()) {
        const auto g = r.integers(r.child(n, "grid"), sec + ".grid", 3, 1, 1000);
        l.grid = {static_cast<std::uint32_t>(g[0]), static_cast<std::uint32_t>(g[1]),
                  static_cast<std::uint32_t>(g[2])};
        if (g[0] * g[1] * g[2] > 1'000'000) {
            r.fail(r.child(n, "grid"), sec + ".grid", "liquid.grid holds more than 1,000,000 neurons");
        }
    }
    l.excitatory_fraction = r.number_or(n, sec, "excitatory_fraction", l.excitatory_fraction, 0, 1);
    l.lambda = r.number_or(n, sec, "lambda", l.lambda, 0, 1e6, true);
    const YAML::Node c = r.child(n, "C");
    r.check_keys(c, sec + ".C", {"EE", "EI", "IE", "II"});
    l.c_ee = r.number_or(c, sec + ".C", "EE", l.c_ee, 0, 1);
    l.c_ei = r.number_or(c, sec + ".C", "EI", l.c_ei, 0, 1);
    l.c_ie = r.number_or(c, sec + ".C", "IE", l.c_ie, 0, 1);
    l.c_ii = r.number_or(c, sec + ".C", "II", l.c_ii, 0, 1);
    l.input_density = r.number_or(n, sec, "input_density", l.input_density, 0, 1);
    l.w_abs = r.number_or(n, sec, "w_init", l.w_abs, 0, 1e6);
}

void read_model(const yaml_reader& r, const YAML::Node& root, nalsm_experiment& x) {
    {
        const string sec = "neuron";
        const YAML::Node n = r.child(root, sec);
        r.check_keys(n, sec, {"tau_v", "v_th", "tau_u", "t_ref", "i_ext", "s_init"});
        auto& nr = x.model.neuron;
        nr.tau_v = r.time_ms_or(n, sec, "tau_v", nr.tau_v, 1e-3, 1e9);
        nr.v_th = r.number_or(n, sec, "v_th", nr.v_th, 0, 1e9, true);
        nr.tau_u = r.time_ms_or(n, sec, "tau_u", nr.tau_u, 1e-3, 1e9);
        const YAML::Node t_ref = r.child(n, "t_ref");
        if (t_ref.IsDefined()) {
            const double v = r.time_ms(t_ref, sec + ".t_ref", 0, 1000);
            if (v != static_cast<double>(static_cast<int>(v))) {
                r.fail(t_ref, sec + ".t_ref", "neuron.t_ref must be a whole number of 1 ms steps");
            }
            nr.t_ref = static_cast<int>(v);
        }
        nr.i_ext = r.number_or(n, sec, "i_ext", nr.i_ext, 0, 1e9);
        if (nr.i_ext < nr.v_th) {
            r.fail(n, sec, fmt::format("neuron.i_ext ({}) must be >= neuron.v_th ({}): one input "
                                       "event makes its input neuron fire",
                                       nr.i_ext, nr.v_th));
        }
        const YAML::Node s_init = r.child(n, "s_init");
        if (s_init.IsDefined()) {
            nr.s_init = static_cast<int>(r.integer(s_init, sec + ".s_init", 0, 100));
        }
    }
    {
        const string sec = "plasticity";
        const YAML::Node n = r.child(root, sec);
        r.check_keys(n, sec, {"rule", "eta", "trace_increment", "trace_decay", "w_max"});
        auto& s = x.model.stdp;
        const YAML::Node rule = r.child(n, "rule");
        if (rule.IsDefined()) {
            const string v = r.choice(rule, sec + ".rule", {"astro_stdp", "stdp", "none"});
            x.model.rule = v == "astro_stdp" ? nalsm::plasticity::astro_stdp
                           : v == "stdp"     ? nalsm::plasticity::stdp
                                             : nalsm::plasticity::none;
        }
        s.eta = r.number_or(n, sec, "eta", s.eta, 0, 1e3);
        s.a = r.number_or(n, sec, "trace_increment", s.a, 0, 1e3);
        s.d = r.number_or(n, sec, "trace_decay", s.d, 0, 1);
        s.w_max = r.number_or(n, sec, "w_max", s.w_max, 0, 1e6);
    }
    {
        const string sec = "astrocyte";
        const YAML::Node n = r.child(root, sec);
        r.check_keys(n, sec, {"tau", "w", "bias", "A0", "rho", "regions"});
        auto& a = x.model.astrocyte;
        a.tau_a = r.time_ms_or(n, sec, "tau", a.tau_a, 1e-3, 1e9);
        a.w_a = r.number_or(n, sec, "w", a.w_a, -1e6, 1e6);
        a.b_a = r.number_or(n, sec, "bias", x.model.stdp.eta, -1e6, 1e6);
        a.a0 = r.number_or(n, sec, "A0", x.model.stdp.eta, -1e6, 1e6);
        a.rho = r.number_or(n, sec, "rho", a.rho, 0, 1);
        if (r.child(n, "regions").IsDefined()) {
            const auto g = r.integers(r.child(n, "regions"), sec + ".regions", 3, 1, 1000);
            for (std::size_t i = 0; i < 3; ++i) {
                if (g[i] > x.liquid.grid[i]) {
                    r.fail(r.child(n, "regions"), sec + ".regions",
                           fmt::format("astrocyte.regions[{}] = {} exceeds liquid.grid[{}] = {}",
                                       i, g[i], i, x.liquid.grid[i]));
                }
                a.regions[i] = static_cast<std::uint32_t>(g[i]);
            }
        }
    }
}

void read_protocol(const yaml_reader& r, const YAML::Node& root, nalsm_experiment& x) {
    const string sec = "protocol";
    const YAML::Node n = r.child(root, sec);
    r.check_keys(n, sec, {"init_samples", "init_duration", "init_shuffle", "duration", "decay",
                          "bins", "final_v", "block"});
    const auto whole_ms = [&](std::string_view key, std::size_t fallback, double lo) {
        const YAML::Node c = r.child(n, key);
        if (!c.IsDefined()) {
            return fallback;
        }
        const double v = r.time_ms(c, key_path(sec, key), lo, 1e7);
        if (v != static_cast<double>(static_cast<std::size_t>(v))) {
            r.fail(c, key_path(sec, key),
                   fmt::format("{} must be a whole number of 1 ms steps", key_path(sec, key)));
        }
        return static_cast<std::size_t>(v);
    };
    x.init.samples = r.integer_or(n, sec, "init_samples", x.init.samples, 0, big);
    x.init.steps = whole_ms("init_duration", x.init.steps, 1);
    x.init.shuffle = r.boolean_or(n, sec, "init_shuffle", x.init.shuffle);
    x.features.steps = whole_ms("duration", x.features.steps, 1);
    x.features.decay = r.number_or(n, sec, "decay", x.features.decay, 0, 1);
    x.features.bins = r.integer_or(n, sec, "bins", 0, 0, x.features.steps);
    x.features.final_v = r.boolean_or(n, sec, "final_v", false);
    x.block = r.integer_or(n, sec, "block", x.block, 1, big);
}

void read_readout(const yaml_reader& r, const YAML::Node& root, nalsm_experiment& x) {
    const string sec = "readout";
    const YAML::Node n = r.child(root, sec);
    r.check_keys(n, sec, {"method", "features", "softmax", "ridge"});
    auto& ro = x.readout;
    if (r.child(n, "method").IsDefined()) {
        const string m = r.choice(r.child(n, "method"), sec + ".method", {"softmax", "ridge", "both"});
        ro.kind = m == "softmax" ? reservoir::readout_spec::method::softmax
                  : m == "ridge" ? reservoir::readout_spec::method::ridge
                                 : reservoir::readout_spec::method::both;
    }
    if (r.child(n, "features").IsDefined()) {
        const string f = r.choice(r.child(n, "features"), sec + ".features", {"counts", "all"});
        ro.features = f == "counts" ? reservoir::readout_spec::feature_set::counts
                                    : reservoir::readout_spec::feature_set::all;
    }
    const string sp = sec + ".softmax";
    const YAML::Node s = r.child(n, "softmax");
    r.check_keys(s, sp, {"learning_rate", "rho", "epsilon", "l2_beta", "batch_size", "max_epochs",
                         "patience", "shuffle", "train_curve"});
    auto& p = ro.softmax;
    p.learning_rate = r.number_or(s, sp, "learning_rate", p.learning_rate, 0, 1e6, true);
    p.rho = r.number_or(s, sp, "rho", p.rho, 0, 1);
    p.epsilon = r.number_or(s, sp, "epsilon", p.epsilon, 0, 1, true);
    p.l2_beta = r.number_or(s, sp, "l2_beta", p.l2_beta, 0, 1e6);
    p.batch_size = r.integer_or(s, sp, "batch_size", p.batch_size, 1, big);
    p.max_epochs = r.integer_or(s, sp, "max_epochs", p.max_epochs, 1, big);
    p.patience = r.integer_or(s, sp, "patience", p.patience, 0, big);
    p.shuffle = r.boolean_or(s, sp, "shuffle", p.shuffle);
    // Off by default here: evaluating all training samples after every epoch costs about a
    // quarter of the readout's time and only feeds a curve.
    p.record_train_curve = r.boolean_or(s, sp, "train_curve", false);
    p.seed = x.seed;
    const string rp = sec + ".ridge";
    const YAML::Node rr = r.child(n, "ridge");
    r.check_keys(rr, rp, {"lambdas", "standardize"});
    if (r.child(rr, "lambdas").IsDefined()) {
        ro.ridge.lambdas = r.numbers(r.child(rr, "lambdas"), rp + ".lambdas", 1e-300, 1e300);
    }
    ro.ridge.standardize = r.boolean_or(rr, rp, "standardize", ro.ridge.standardize);
}

// output.file, default results/<stem of the experiment file>.h5.
string read_output(const yaml_reader& r, const YAML::Node& root, const string& name) {
    const YAML::Node n = r.child(root, "output");
    r.check_keys(n, "output", {"file"});
    return r.child(n, "file").IsDefined()
               ? r.text(r.child(n, "file"), "output.file")
               : "results/" + std::filesystem::path(name).stem().string() + ".h5";
}

}  // namespace

std::string experiment_kind(const std::string& path) {
    // Anything unreadable is left to the network loader, whose messages cover it.
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return "network";
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    YAML::Node root;
    try {
        root = YAML::Load(ss.str());
    }
    catch (const YAML::Exception&) {
        return "network";
    }
    if (!root.IsMap()) {
        return "network";
    }
    const YAML::Node& croot = root;
    const YAML::Node k = croot["experiment"];
    return k.IsDefined() && k.IsScalar() ? k.Scalar() : "network";
}

nalsm_experiment load_reservoir_experiment(const std::string& path,
                                           const std::vector<std::string>& overrides) {
    return parse_reservoir_experiment(read_text(path), path, overrides);
}

nalsm_experiment parse_reservoir_experiment(const std::string& text, const std::string& name,
                                            const std::vector<std::string>& overrides) {
    const yaml_reader r(text, name, overrides);
    const YAML::Node& root = r.root();
    r.check_keys(root, "", {"experiment", "seed", "threads", "dataset", "liquid", "neuron",
                            "plasticity", "astrocyte", "protocol", "readout", "metrics",
                            "output"});
    nalsm_experiment x;
    x.source_path = name;
    x.config_text = overrides.empty() ? text : r.emit();
    r.choice(r.required(root, "", "experiment"), "experiment", {"nalsm"});
    x.seed = r.integer_or(root, "", "seed", 1, 0, std::numeric_limits<std::uint64_t>::max());
    x.threads = static_cast<int>(r.integer_or(root, "", "threads", 0, 0, 4096));
    read_dataset(r, root, x);
    read_liquid(r, root, x);
    read_model(r, root, x);
    read_protocol(r, root, x);
    read_readout(r, root, x);
    {
        const YAML::Node n = r.child(root, "metrics");
        r.check_keys(n, "metrics", {"branching_samples"});
        x.branching_samples = r.integer_or(n, "metrics", "branching_samples", 20, 0, 100000);
    }
    x.output = read_output(r, root, name);
    return x;
}

reservoir::timeseries_experiment load_timeseries_experiment(
    const std::string& path, const std::vector<std::string>& overrides) {
    return parse_timeseries_experiment(read_text(path), path, overrides);
}

reservoir::timeseries_experiment parse_timeseries_experiment(
    const std::string& text, const std::string& name, const std::vector<std::string>& overrides) {
    using reservoir::timeseries_experiment;
    const yaml_reader r(text, name, overrides);
    const YAML::Node& root = r.root();
    r.check_keys(root, "", {"experiment", "seed", "threads", "network", "network_set", "task",
                            "input", "state", "output"});
    timeseries_experiment x;
    x.source_path = name;
    x.config_text = overrides.empty() ? text : r.emit();
    r.choice(r.required(root, "", "experiment"), "experiment", {"timeseries"});
    x.seed = r.integer_or(root, "", "seed", 1, 0, std::numeric_limits<std::uint64_t>::max());
    x.threads = static_cast<int>(r.integer_or(root, "", "threads", 0, 0, 4096));
    x.network = data_path(name, r.text(r.required(root, "", "network"), "network"));
    if (const YAML::Node ns = r.child(root, "network_set"); ns.IsDefined()) {
        if (!ns.IsSequence()) {
            r.fail(ns, "network_set", "network_set must be a list of key.path=value overrides");
        }
        for (std::size_t i = 0; i < ns.size(); ++i) {
            x.network_sets.push_back(r.text(ns[i], fmt::format("network_set[{}]", i)));
        }
    }
    {
        const string sec = "task";
        const YAML::Node n = r.required(root, "", sec);
        r.check_keys(n, sec, {"kind", "steps", "step_duration", "k_max", "order", "washout",
                              "train_fraction", "ridge_lambda", "standardize"});
        const string kind = r.choice(r.required(n, sec, "kind"), sec + ".kind",
                                     {"memory_capacity", "narma"});
        x.task = kind == "narma" ? timeseries_experiment::task_kind::narma
                                 : timeseries_experiment::task_kind::memory_capacity;
        x.steps = r.integer_or(n, sec, "steps", x.steps, 10, 10'000'000);
        x.step_duration = r.time_ms_or(n, sec, "step_duration", x.step_duration, 1e-3, 1e6);
        x.k_max = r.integer_or(n, sec, "k_max", x.k_max, 1, 10000);
        x.narma.order = r.integer_or(n, sec, "order", x.narma.order, 1, 1000);
        x.readout.washout = r.integer_or(n, sec, "washout", x.readout.washout, 0, x.steps - 1);
        x.readout.train_fraction =
            r.number_or(n, sec, "train_fraction", x.readout.train_fraction, 0, 1, true);
        x.readout.ridge_lambda = r.number_or(n, sec, "ridge_lambda", x.readout.ridge_lambda, 0,
                                             1e12, true);
        x.readout.standardize = r.boolean_or(n, sec, "standardize", x.readout.standardize);
        if (x.task == timeseries_experiment::task_kind::memory_capacity &&
            x.k_max + x.readout.washout + 20 > x.steps) {
            r.fail(n, sec, fmt::format("task.steps ({}) leaves too few rows after the washout "
                                       "({}) and k_max ({})",
                                       x.steps, x.readout.washout, x.k_max));
        }
    }
    {
        const string sec = "input";
        const YAML::Node n = r.required(root, "", sec);
        r.check_keys(n, sec, {"population", "fraction", "gain", "bias"});
        x.input_population = r.text(r.required(n, sec, "population"), sec + ".population");
        x.input_fraction = r.number_or(n, sec, "fraction", x.input_fraction, 0, 1, true);
        const auto current = [&](std::string_view key, double fallback) {
            const YAML::Node c = r.child(n, key);
            if (!c.IsDefined()) {
                return fallback;
            }
            quantity q;
            const string path = key_path(sec, key);
            if (!c.IsScalar() || try_parse_quantity(c.Scalar(), q) != parse_status::ok ||
                (q.dim != dimension::none && q.dim != dimension::current) ||
                !std::isfinite(q.value)) {
                r.fail(c, path, fmt::format("{} must be a current ({}), got '{}'", path,
                                            units_of(dimension::current),
                                            c.IsScalar() ? c.Scalar() : string("a map")));
            }
            return q.value;
        };
        x.gain = current("gain", x.gain);
        x.bias = current("bias", x.bias);
    }
    {
        const string sec = "state";
        const YAML::Node n = r.child(root, sec);
        r.check_keys(n, sec, {"populations", "tau", "save"});
        if (const YAML::Node p = r.child(n, "populations"); p.IsDefined()) {
            if (!p.IsSequence() || p.size() == 0) {
                r.fail(p, sec + ".populations", "state.populations must be a non-empty list of "
                                                "population names");
            }
            for (std::size_t i = 0; i < p.size(); ++i) {
                x.state_populations.push_back(r.text(p[i], fmt::format("{}.populations[{}]", sec, i)));
            }
        }
        x.tau = r.time_ms_or(n, sec, "tau", x.tau, 1e-3, 1e6);
        x.save_states = r.boolean_or(n, sec, "save", false);
    }
    x.output = read_output(r, root, name);
    return x;
}

}  // namespace glia::io
