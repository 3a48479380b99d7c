#include "io/inspect.hpp"

#include <algorithm>
#include <filesystem>
#include <vector>

#include <fmt/format.h>

#include <glia/error.hpp>

#include "io/hdf5_common.hpp"
#include "io/hdf5_reader.hpp"
#include "io/network_metrics.hpp"

namespace glia::io {

namespace {

// Rows of cells printed as left-aligned columns, two spaces apart, indented by two.
std::string table(const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> width;
    for (const auto& row: rows) {
        width.resize(std::max(width.size(), row.size()), 0);
        for (std::size_t c = 0; c < row.size(); ++c) {
            width[c] = std::max(width[c], row[c].size());
        }
    }
    std::string out;
    for (const auto& row: rows) {
        std::string line = " ";
        for (std::size_t c = 0; c < row.size(); ++c) {
            line += " " + row[c];
            if (c + 1 < row.size()) {
                line.append(width[c] - row[c].size() + 1, ' ');
            }
        }
        out += line + "\n";
    }
    return out;
}

// Whether the output file `path` itself holds report `name` at `group` (its @report
// attribute names it): the file a report is looked up in first, whatever the file is called
// now (/run/reports/file holds the name it was written under).
bool holds_report(const std::string& path, const std::string& group, const std::string& name) {
    const h5::quiet_errors quiet;
    const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, h5::unlocked_access().get());
    if (f < 0) {
        return false;
    }
    const h5::handle file{f, H5Fclose};
    if (group.empty() || H5Lexists(f, group.c_str(), H5P_DEFAULT) <= 0) {
        return false;
    }
    const h5::handle g{H5Oopen(f, group.c_str(), H5P_DEFAULT), H5Oclose};
    if (g.get() < 0) {
        return false;
    }
    const auto report = h5::read_string_attribute(g.get(), "report");
    return report && *report == name;
}

std::string number(double x) {
    return fmt::format("{:g}", x);
}

}  // namespace

std::string inspect(const std::string& path) {
    const run_info run = read_run_info(path);
    const std::filesystem::path dir = std::filesystem::path(path).parent_path();
    std::string out;
    const auto line = [&](const std::string& key, const std::string& value) {
        out += fmt::format("{:<12} {}\n", key + ":", value);
    };

    line("file", path);
    if (run.status == "complete") {
        line("status", fmt::format("complete ({} of {} steps)", run.steps_done, run.n_steps));
    } else if (run.status == "interrupted") {
        line("status",
             fmt::format("INCOMPLETE: interrupted at step {} of {}", run.steps_done, run.n_steps));
    } else if (run.status == "failed") {
        line("status",
             "FAILED: " + (run.error.empty() ? std::string("an error ended the run") : run.error));
    } else if (run.status == "running") {
        line("status",
             fmt::format("INCOMPLETE: killed or still running (status 'running', no "
                         "end-of-run record; {} steps planned; data up to the last flush)",
                         run.n_steps));
    } else {
        line("status", fmt::format("INCOMPLETE: unknown status '{}'", run.status));
    }
    line("duration", fmt::format("{} ms requested, dt {} ms, {} steps", number(run.duration),
                                 number(run.dt), run.n_steps));
    line("seed", fmt::format("{}", run.seed));
    line("version", fmt::format("{} (git {})", run.version, run.git_hash));
    line("host", run.host);
    line("started", run.started);
    line("command", run.command_line);
    line("config", run.source_path);
    if (run.has_summary) {
        line("wall time", fmt::format("{:.3f} s simulation, {:.3f} s network build",
                                      run.wall_seconds, run.build_seconds));
        line("network", fmt::format("{} neurons, {} synapses, {} synaptic events", run.n_neurons,
                                    run.n_synapses, run.synaptic_events));
    }

    // Spike counts: from the end-of-run record, else (killed run) from the datasets; the
    // simulated time the rates refer to: the steps done, else the last recorded time.
    std::vector<std::string> counts(run.populations.size(), "-");
    std::vector<double> count_values(run.populations.size(), -1);
    double last_time = 0;  // [ms]
    for (std::size_t p = 0; p < run.populations.size(); ++p) {
        const auto& pop = run.populations[p];
        if (pop.has_spike_count) {
            count_values[p] = static_cast<double>(pop.spike_count);
        }
        if (pop.spikes_recorded) {
            const spike_summary s = summarize_spikes(path, pop.name);
            last_time = std::max(last_time, s.last_time);
            if (!pop.has_spike_count) {
                count_values[p] = static_cast<double>(s.count);
            }
        }
        if (count_values[p] >= 0) {
            counts[p] = fmt::format("{}", static_cast<std::uint64_t>(count_values[p]));
        }
    }
    std::vector<std::vector<std::string>> report_rows{
        {"name", "population", "variable", "unit", "frames", "nodes", "time [ms]", "file"}};
    for (const auto& rep: run.reports) {
        const std::string group = rep.path.empty() ? "/report/" + rep.population : rep.path;
        const std::string file =
            holds_report(path, group, rep.name) ? path : (dir / rep.file).string();
        const std::string shown =
            file == path ? std::filesystem::path(path).filename().string() : rep.file;
        try {
            const report_summary s = rep.path.empty() ? summarize_report(file, rep.population)
                                                      : summarize_report_at(file, rep.path);
            last_time = std::max(last_time, s.n_frames > 0 ? s.t_stop : 0.0);
            report_rows.push_back(
                {rep.name, rep.population, rep.variable, s.units, fmt::format("{}", s.n_frames),
                 fmt::format("{}", s.n_nodes),
                 fmt::format("{}..{} step {}", number(s.t_start), number(s.t_stop), number(s.dt)),
                 shown});
        }
        catch (const glia::error& e) {
            report_rows.push_back({rep.name, rep.population, rep.variable, rep.unit, "?", "?", "?",
                                   shown + " (unreadable: " + e.what() + ")"});
        }
    }
    const double simulated =
        run.has_summary ? static_cast<double>(run.steps_done) * run.dt : last_time;  // [ms]

    out += "\n";
    if (run.has_summary) {
        out += fmt::format("populations (rates over the {} ms simulated):\n", number(simulated));
    } else {
        out += fmt::format(
            "populations (rates over {} ms, the last recorded time: the run was cut short):\n",
            number(simulated));
    }
    std::vector<std::vector<std::string>> pop_rows{
        {"name", "model", "size", "first gid", "spikes", "rate [Hz]"}};
    for (std::size_t p = 0; p < run.populations.size(); ++p) {
        const auto& pop = run.populations[p];
        std::string rate = "-";
        if (count_values[p] >= 0 && pop.size > 0 && simulated > 0) {
            rate = fmt::format("{:.3f}", count_values[p] / static_cast<double>(pop.size) /
                                             (simulated / 1000.0));
        }
        std::string spikes = counts[p];
        if (!pop.spikes_recorded) {
            spikes += " (not recorded)";
        }
        pop_rows.push_back({pop.name, pop.model, fmt::format("{}", pop.size),
                            fmt::format("{}", pop.first_gid), spikes, rate});
    }
    out += table(pop_rows);
    out += "\n";
    if (run.reports.empty()) {
        out += "reports: none\n";
    } else {
        out += "reports:\n";
        out += table(report_rows);
    }
    // Figures computed after the run (metrics: in the experiment; docs/output_format.md).
    const std::vector<metric_entry> metrics = read_metrics(path);
    if (!metrics.empty()) {
        out += "metrics:\n";
        std::vector<std::vector<std::string>> rows;
        for (const auto& m: metrics) {
            rows.push_back({m.name, m.text});
        }
        out += table(rows);
    }
    return out;
}

}  // namespace glia::io
