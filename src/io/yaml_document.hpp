#pragma once
// YAML text read the way glia reads every document (experiment and sweep files, --set values,
// a checkpoint's config): one document, LF or CRLF line ends, no key twice in a map, and a node
// graph that every later reader may walk recursively: no alias inside the node it refers to (a
// cycle), no expansion past a node budget (nested aliases multiply: "billion laughs"), and a
// bounded depth.

#include <cstddef>
#include <string>

#include <yaml-cpp/yaml.h>

namespace glia::io {

// Where the text comes from, for messages.
struct yaml_origin {
    // A file: its name, and errors are glia::config_error "name:line:col: message". A --set
    // value: "key.path=value", and errors are glia::error "--set key.path=value: message".
    std::string name;
    bool set_value = false;
    // The key path of the document's root in messages: "" for a file, the --set key path.
    std::string root_path;
};

// Limits of a document's node graph, with aliases expanded (an alias counts as a copy of the
// node it refers to).
inline constexpr std::size_t yaml_max_depth = 256;
// Nodes beyond the size of the text: a document without aliases has fewer nodes than twice its
// bytes, so it always passes; aliases may add at most this many.
inline constexpr std::size_t yaml_extra_nodes = 1'000'000;

// Parses `text` (one YAML document; an empty text is a null node) and checks it as above.
// Throws glia::config_error or glia::error (see yaml_origin), never a YAML::Exception.
YAML::Node load_yaml_document(const std::string& text, const yaml_origin& origin);

}  // namespace glia::io
