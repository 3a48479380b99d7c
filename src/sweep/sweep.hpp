#pragma once
// A sweep: the `sweep:` block of an experiment file expands the file into numbered points, each
// a list of overrides ("key.path=value", the same strings as `glia run --set`) and an output
// directory. The syntax is documented in docs/sweeps.md; this is the only code that reads it.
//
//   sweep:
//     name: tau_scan                       # optional; default: the file's stem
//     seed: 7                              # optional (default 1): random draws, repeat seeds
//     grid: {populations.exc.params.tau_m: [10 ms, 20 ms], projections.ee.p: [0.01, 0.02]}
//     zip: {projections.ee.weight: [10 pA, 20 pA], projections.ie.weight: [-50 pA, -100 pA]}
//     random: {n: 4, inputs.drive.rate: {uniform: [5 kHz, 10 kHz]}}
//     repeats: 3                           # seeds per point; sets simulation.seed
//
// Numbering (stable given the file): the blocks multiply, as nested loops in this order,
// the innermost last: grid (its first key outermost, each key's values in list order), zip
// rows, random draws, repeats. Point K = ((g * n_zip + z) * n_random + r) * n_repeats + s.
// The overrides of a point apply in the same order (grid keys in file order, zip keys, random
// keys, simulation.seed), before any --set of the user.
//
// Random draws and repeat seeds are pure functions of (sweep seed, key path, draw index) and
// (sweep seed, repeat index): stream::sweep of glia::rng_stream. Adding a key or reordering
// keys does not change the draws of another key. Repeat s has the same seed at every point
// (common random numbers: points differ only in what the sweep varies).
//
// Every mistake in the block is a glia::config_error at its file:line:col. A point whose
// overrides the loader refuses is reported at the sweep value that made it.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <glia/model_registry.hpp>
#include <glia/spec.hpp>

namespace glia::sweep {

// One varied key of one point.
struct assignment {
    std::string key;    // "populations.exc.params.tau_m"
    std::string value;  // the value as YAML text: "10 ms", "0.02", "[1, 2]"
    int line = 0;       // 1-based location of the sweep entry that gave the value
    int column = 0;
};

struct point {
    std::size_t index = 0;
    std::vector<assignment> values;   // one per sweep_plan::keys, in the same order
    std::filesystem::path directory;  // <sweep directory>/point_<index>
    std::filesystem::path output;     // directory / <file name of the experiment's output>

    // "key=value" for each assignment, in the order they apply.
    std::vector<std::string> overrides() const;
};

struct sweep_plan {
    std::string file;                 // the experiment file, as given
    std::string name;                 // sweep.name, or the file's stem
    std::filesystem::path directory;  // <directory of output.file>/<name>
    std::uint64_t seed = 1;           // sweep.seed
    std::size_t repeats = 1;          // sweep.repeats
    std::vector<std::string> keys;    // varied key paths, in override order
    std::vector<point> points;        // points[k].index == k
    std::string text;                 // the file's text as read: every point is loaded from it
};

// Reads the experiment file at `path` and expands its sweep block. The file itself (without
// overrides) is validated with the loader, which also gives the output path the points'
// directories derive from. Throws glia::config_error for a bad block, glia::error when the
// file has no `sweep:` block or cannot be read.
sweep_plan expand_sweep(const std::string& path, const model_registry& models);

// The same from text; `name` stands for the file name (see io::parse_experiment).
sweep_plan parse_sweep(const std::string& yaml_text, const std::string& name,
                       const model_registry& models);

// A further check of a loaded point, e.g. glia::check_experiment (the models' own parameter
// checks), which glia_sweep does not link.
using spec_check = std::function<void(const experiment_spec&)>;

// Loads point `k` with its overrides, then `user_overrides` (--set), with the loader, then runs
// `check` (if any) on the spec. An error caused by one of the point's values is rethrown as a
// glia::config_error at that value in the sweep block:
// "file:line:col: sweep point K: key=value: <the loader's message>".
experiment_spec load_point(const sweep_plan& plan, std::size_t k,
                           const std::vector<std::string>& user_overrides,
                           const model_registry& models, const spec_check& check = {});

// Loads (and checks) every point without user overrides; returns their resolved configs
// (experiment_spec::config_text), one per point. The first bad point throws.
std::vector<std::string> check_points(const sweep_plan& plan, const model_registry& models,
                                      const spec_check& check = {});

}  // namespace glia::sweep
