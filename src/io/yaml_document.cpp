#include "io/yaml_document.hpp"

#include <algorithm>
#include <map>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include <glia/error.hpp>

namespace glia::io {
namespace {

using std::string;

string in_path(const string& path) {
    return path.empty() ? "at the top level" : "in '" + path + "'";
}

string quoted(const string& path) {
    return path.empty() ? string("the document") : "'" + path + "'";
}

string kind_of(const YAML::Node& n) {
    return n.IsMap() ? "a map" : n.IsSequence() ? "a list" : "a value";
}

class document_reader {
public:
    document_reader(const yaml_origin& origin, std::size_t budget):
        origin_(origin), budget_(budget) {}

    [[noreturn]] void fail(const YAML::Mark& m, const string& message) const {
        if (origin_.set_value) {
            throw error("--set " + origin_.name + ": " + message);
        }
        if (m.is_null()) {
            throw error(origin_.name + ": " + message);
        }
        throw config_error(origin_.name, m.line + 1, m.column + 1, message);
    }

    // The node graph below `n`, depth first, aliases expanded: each alias is walked as the
    // copy of its anchor's node that every later reader sees.
    void visit(const YAML::Node& n, const string& path, std::size_t depth) {
        for (const YAML::Node& a: ancestors_) {
            if (n.is(a)) {
                fail(n.Mark(),
                     fmt::format("{} is an alias of {} that contains it (an alias cycle); an "
                                 "alias must refer to a node outside itself",
                                 quoted(path), kind_of(n)));
            }
        }
        if (++visited_ > budget_) {
            fail(n.Mark(), fmt::format("{} expands to more than {} nodes through YAML aliases "
                                       "(each alias is a copy of its anchor's node, so nested "
                                       "aliases multiply; the limit was reached at {}); write "
                                       "the values out or nest fewer aliases",
                                       quoted(origin_.root_path), budget_, quoted(path)));
        }
        if (depth > yaml_max_depth) {
            fail(n.Mark(), fmt::format("{} is nested more than {} levels deep", quoted(path),
                                       yaml_max_depth));
        }
        if (!n.IsMap() && !n.IsSequence()) {
            return;
        }
        ancestors_.push_back(n);
        if (n.IsSequence()) {
            std::size_t i = 0;
            for (auto it = n.begin(); it != n.end(); ++it, ++i) {
                visit(*it, path + "[" + std::to_string(i) + "]", depth + 1);
            }
        } else {
            std::map<string, YAML::Mark> first;
            for (auto it = n.begin(); it != n.end(); ++it) {
                visit(it->first, path, depth + 1);
                string child = path;
                if (it->first.IsScalar()) {
                    const string& key = it->first.Scalar();
                    const auto [at, inserted] = first.emplace(key, it->first.Mark());
                    if (!inserted) {
                        const YAML::Mark& m = at->second;
                        fail(it->first.Mark(),
                             fmt::format("duplicate key '{}' {}{}", key, in_path(path),
                                         m.is_null() ? string()
                                                     : fmt::format(" (first at line {}, column {})",
                                                                   m.line + 1, m.column + 1)));
                    }
                    child = path.empty() ? key : path + "." + key;
                }
                visit(it->second, child, depth + 1);
            }
        }
        ancestors_.pop_back();
    }

private:
    const yaml_origin& origin_;
    std::size_t budget_;
    std::size_t visited_ = 0;
    std::vector<YAML::Node> ancestors_;  // the maps and lists enclosing the node visited
};

// The line (0-based) of the "---" that starts the document at `content_line`, or
// `content_line` when there is none between the previous document and it.
int marker_line(const string& text, int content_line) {
    int line = 0;
    int found = content_line;
    for (std::size_t at = 0; at < text.size() && line <= content_line; ++line) {
        const std::size_t end = std::min(text.find('\n', at), text.size());
        if (std::string_view(text).substr(at, end - at).starts_with("---")) {
            found = line;
        }
        at = end + 1;
    }
    return found;
}

}  // namespace

YAML::Node load_yaml_document(const string& text, const yaml_origin& origin) {
    document_reader reader(origin, yaml_extra_nodes + 2 * text.size());
    // yaml-cpp reads a lone CR as no line break: an old Mac file would be one line, mostly a
    // comment, and read as empty.
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\r' && (i + 1 == text.size() || text[i + 1] != '\n')) {
            const std::size_t line_start = text.rfind('\n', i);
            YAML::Mark m;
            m.line = static_cast<int>(
                std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(i), '\n'));
            m.column = static_cast<int>(line_start == string::npos ? i : i - line_start - 1);
            reader.fail(m, origin.set_value
                               ? "the value holds a CR (carriage return) that ends no CRLF line"
                               : "the file uses CR-only line endings (old Mac style); convert "
                                 "it to LF line endings");
        }
    }
    std::vector<YAML::Node> documents;
    try {
        documents = YAML::LoadAll(text);
    }
    catch (const YAML::Exception& e) {
        if (origin.set_value) {
            throw error("--set " + origin.name + ": the value is not valid YAML: " + e.msg);
        }
        reader.fail(e.mark, e.msg);
    }
    if (documents.empty()) {
        return YAML::Node();
    }
    if (documents.size() > 1) {
        YAML::Mark m = documents[1].Mark();
        if (!m.is_null()) {
            m.line = marker_line(text, m.line);
            m.column = 0;
        }
        reader.fail(m, origin.set_value
                           ? "the value holds a second YAML document ('---'); give one value"
                           : "a second YAML document starts here; a glia file holds one "
                             "document (remove this '---' and what follows, or split the file)");
    }
    reader.visit(documents.front(), origin.root_path, 0);
    return documents.front();
}

}  // namespace glia::io
