// The data files an experiment names, read by the loader: spike_times_file (one line of spike
// times per neuron) and connections_file (CSV edges of a from_list projection). Errors point
// at the line and column of the data file.

#include <cmath>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include <glia/error.hpp>

#include "io/config_yaml_detail.hpp"
#include "io/input_file.hpp"

namespace glia::io::config_yaml_detail {

// One line per neuron; times [ms] separated by blanks or commas.
void loader::read_spike_times_file(population_spec& pop, const YAML::Node& n, const string& path) {
    const string& name = text_at(n, path, "a file name");
    const auto file = data_path(name);
    try {
        check_input_file(file.string(), "spike times file");
    }
    catch (const error& e) {
        fail(n, path + ": " + e.what());
    }
    std::ifstream in(file);
    if (!in) {
        fail(n, path + ": cannot open spike times file '" + file.string() + "'");
    }
    const string file_name = file.string();
    string line;
    std::size_t line_no = 0;
    while (std::getline(in, line)) {
        ++line_no;
        if (line_no > pop.size) {
            fail(n, fmt::format("{}: '{}' has more than {} lines; it needs one line per neuron "
                                "of '{}'",
                                path, file_name, pop.size, pop.name));
        }
        auto& train = pop.spike_times[line_no - 1];
        std::size_t pos = 0;
        while (pos < line.size()) {
            const auto begin = line.find_first_not_of(" \t,\r", pos);
            if (begin == string::npos) {
                break;
            }
            auto end = line.find_first_of(" \t,\r", begin);
            end = end == string::npos ? line.size() : end;
            const string_view token = string_view(line).substr(begin, end - begin);
            const int line_i = static_cast<int>(line_no);
            const int col = static_cast<int>(begin + 1);
            double t = 0;
            if (!parse_double(token, t) || !std::isfinite(t)) {
                throw config_error(file_name, line_i, col,
                                   "'" + string(token) + "' is not a number (spike times in ms)");
            }
            if (!(t > 0)) {
                throw config_error(file_name, line_i, col,
                                   "spike time must be > 0 ms, got " + string(token));
            }
            if (!pop.allow_offgrid_times && !on_grid(t, dt_)) {
                throw config_error(file_name, line_i, col,
                                   fmt::format("spike time = {} ms is not a multiple of dt = {} "
                                               "ms (set allow_offgrid_times: true in {} to round "
                                               "times to the nearest step)",
                                               t, dt_, "populations." + pop.name));
            }
            if (pop.allow_offgrid_times && t < dt_ / 2) {
                throw config_error(file_name, line_i, col,
                                   fmt::format("spike time = {} ms is below dt/2 = {} ms: it "
                                               "would round to time 0",
                                               t, dt_ / 2));
            }
            if (!train.empty() && !(t > train.back())) {
                throw config_error(file_name, line_i, col,
                                   fmt::format("spike time = {} ms is not after the previous time "
                                               "({} ms); spike times must increase strictly",
                                               t, train.back()));
            }
            train.push_back(t);
            pos = end;
        }
    }
    if (line_no != pop.size) {
        fail(n, fmt::format("{}: '{}' has {} lines; it needs one line per neuron of '{}' ({})",
                            path, file_name, line_no, pop.name, pop.size));
    }
}

// CSV: "source,target[,weight,delay]" per line, canonical units, '#' starts a comment.
void loader::read_edges_file(projection_spec& proj, const YAML::Node& n, const string& path,
                             const population_ref& source, const population_ref& target) {
    const string& name = text_at(n, path, "a file name");
    const auto file = data_path(name);
    try {
        check_input_file(file.string(), "connections file");
    }
    catch (const error& e) {
        fail(n, path + ": " + e.what());
    }
    std::ifstream in(file);
    if (!in) {
        fail(n, path + ": cannot open connections file '" + file.string() + "'");
    }
    const string file_name = file.string();
    auto& edges = proj.connectivity.edges;
    string line;
    int line_no = 0;
    while (std::getline(in, line)) {
        ++line_no;
        const string_view content = string_view(line).substr(0, line.find('#'));
        if (trim(content).empty()) {
            continue;
        }
        std::vector<std::pair<string_view, int>> fields;  // text, 1-based column
        for (std::size_t pos = 0;;) {
            const auto comma = content.find(',', pos);
            const auto raw =
                content.substr(pos, comma == string_view::npos ? string_view::npos : comma - pos);
            const auto lead = raw.find_first_not_of(" \t");
            fields.emplace_back(trim(raw),
                                static_cast<int>(pos + (lead == string_view::npos ? 0 : lead)) + 1);
            if (comma == string_view::npos) {
                break;
            }
            pos = comma + 1;
        }
        if (fields.size() != 2 && fields.size() != 4) {
            throw config_error(file_name, line_no, 1,
                               fmt::format("expected source,target or source,target,weight,delay; "
                                           "got {} fields",
                                           fields.size()));
        }
        auto id = [&](std::size_t k, const population_ref& pop, string_view role) {
            std::uint64_t v = 0;
            if (!parse_u64(fields[k].first, v)) {
                throw config_error(
                    file_name, line_no, fields[k].second,
                    fmt::format("{} must be an integer >= 0, got '{}'", role, fields[k].first));
            }
            if (v >= pop.size) {
                throw config_error(file_name, line_no, fields[k].second,
                                   fmt::format("{} {} is not in population '{}' (size {})", role, v,
                                               pop.name, pop.size));
            }
            return static_cast<neuron_id>(v);
        };
        auto number = [&](std::size_t k, string_view role) {
            double v = 0;
            if (!parse_double(fields[k].first, v) || !std::isfinite(v)) {
                throw config_error(file_name, line_no, fields[k].second,
                                   fmt::format("{} must be a finite number in canonical units, "
                                               "got '{}'",
                                               role, fields[k].first));
            }
            return v;
        };
        edge_spec edge;
        edge.source = id(0, source, "source");
        edge.target = id(1, target, "target");
        if (fields.size() == 4) {
            edge.weight = number(2, "weight");
            edge.delay = number(3, "delay [ms]");
            if (auto problem = steps_problem("delay", edge.delay, string(fields[3].first), dt_)) {
                throw config_error(file_name, line_no, fields[3].second, *problem);
            }
        }
        edges.push_back(edge);
    }
}

}  // namespace glia::io::config_yaml_detail
