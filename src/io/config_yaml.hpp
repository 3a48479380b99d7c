#pragma once
// The YAML experiment file: read, apply command-line overrides, validate, return an
// experiment_spec in canonical units. The schema is documented key by key in
// docs/config_reference.md; this is the only code that knows it.
//
// Every user error is thrown here, at the boundary: a glia::config_error("file:line:col:
// message") pointing at the offending node, or, for a value that came from an override, a
// glia::error("--set path=value: message"). Whatever needs the network built (parameter
// relations such as V_reset < V_th, defaults) is left to the builder.

#include <string>
#include <vector>

#include <glia/model_registry.hpp>
#include <glia/spec.hpp>

namespace glia::io {

// Reads the experiment file at `path`, applies `overrides` ("key.path=value", the value parsed
// as YAML, e.g. "simulation.duration=2 s", "projections.ee.p=0.05") in order, validates and
// returns the spec. Relative data file paths (spike_times_file, connections_file) are relative
// to the directory of `path`. Throws glia::error "cannot open experiment file 'x.yaml'" when
// the file cannot be read.
experiment_spec load_experiment(const std::string& path, const std::vector<std::string>& overrides,
                                const model_registry& models);

// The same from text; `name` stands for the file name in messages, source_path and the default
// output path ("results/<stem of name>.h5"), and its directory anchors relative data files.
experiment_spec parse_experiment(const std::string& yaml_text, const std::string& name,
                                 const std::vector<std::string>& overrides,
                                 const model_registry& models);

}  // namespace glia::io
