#include "sweep/collect.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <hdf5.h>

#include <glia/error.hpp>
#include <glia/units.hpp>

#include "io/hdf5_handle.hpp"
#include "io/units.hpp"
#include "sweep/point_status.hpp"

namespace glia::sweep {
namespace {

using io::h5::handle;

constexpr double no_value = std::numeric_limits<double>::quiet_NaN();

// The scalar numeric datasets under /metrics of an output file, by path below /metrics with
// '.' for '/' ("accuracy", "readout.test_accuracy"), in the file's link order. Anything else
// there (arrays, strings) is not a table cell and is left out. A file without /metrics, or one
// that does not open, has none.
std::vector<std::pair<std::string, double>> read_metrics(const std::filesystem::path& path) {
    std::vector<std::pair<std::string, double>> out;
    const io::h5::quiet_errors quiet;
    const handle file{H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose};
    if (!file.valid() || H5Lexists(file.get(), "/metrics", H5P_DEFAULT) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return out;
    }
    const handle group{H5Gopen2(file.get(), "/metrics", H5P_DEFAULT), H5Gclose};
    if (!group.valid()) {
        H5Eclear2(H5E_DEFAULT);
        return out;
    }
    struct visit_state {
        hid_t group;
        std::vector<std::pair<std::string, double>>* out;
    } state{group.get(), &out};
    H5Lvisit(
        group.get(), H5_INDEX_NAME, H5_ITER_INC,
        [](hid_t g, const char* name, const H5L_info_t*, void* data) -> herr_t {
            auto* s = static_cast<visit_state*>(data);
            const handle dset{H5Dopen2(g, name, H5P_DEFAULT), H5Dclose};
            if (!dset.valid()) {
                H5Eclear2(H5E_DEFAULT);
                return 0;  // a group
            }
            const handle space{H5Dget_space(dset.get()), H5Sclose};
            const handle type{H5Dget_type(dset.get()), H5Tclose};
            const H5T_class_t cls = H5Tget_class(type.get());
            if (H5Sget_simple_extent_npoints(space.get()) != 1 ||
                (cls != H5T_INTEGER && cls != H5T_FLOAT)) {
                return 0;
            }
            double v = no_value;
            if (H5Dread(dset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v) < 0) {
                H5Eclear2(H5E_DEFAULT);
                return 0;
            }
            std::string key = name;
            for (auto& c: key) {
                if (c == '/') {
                    c = '.';
                }
            }
            s->out->emplace_back(key, v);
            return 0;
        },
        &state);
    H5Eclear2(H5E_DEFAULT);
    return out;
}

column numeric(std::string name, std::string unit, std::size_t rows) {
    column c;
    c.name = std::move(name);
    c.unit = std::move(unit);
    c.numbers.assign(rows, no_value);
    return c;
}

column text(std::string name, std::size_t rows) {
    column c;
    c.name = std::move(name);
    c.numeric = false;
    c.texts.assign(rows, "");
    return c;
}

// The values of a varied key: numbers in the canonical unit when every value is a quantity of
// one dimension ("10 ms", "0.02 s" -> 10, 20 [ms]), otherwise the values as written.
column parameter_column(const sweep_plan& plan, std::size_t key) {
    const std::size_t rows = plan.points.size();
    std::vector<io::quantity> qs(rows);
    bool all_numbers = true;
    for (std::size_t k = 0; k < rows && all_numbers; ++k) {
        all_numbers = io::try_parse_quantity(plan.points[k].values[key].value, qs[k]) ==
                          io::parse_status::ok &&
                      qs[k].dim == qs[0].dim;
    }
    if (all_numbers) {
        column c = numeric(plan.keys[key], std::string(canonical_unit(qs[0].dim)), rows);
        for (std::size_t k = 0; k < rows; ++k) {
            c.numbers[k] = qs[k].value;
        }
        return c;
    }
    column c = text(plan.keys[key], rows);
    for (std::size_t k = 0; k < rows; ++k) {
        c.texts[k] = plan.points[k].values[key].value;
    }
    return c;
}

// CSV cell text (RFC 4180): quoted when it holds a comma, quote or line break.
std::string csv_cell(const std::string& s) {
    if (s.find_first_of(",\"\n\r") == std::string::npos &&
        (s.empty() || (s.front() != ' ' && s.back() != ' '))) {
        return s;
    }
    std::string out = "\"";
    for (const char c: s) {
        out += c;
        if (c == '"') {
            out += '"';
        }
    }
    return out + "\"";
}

handle string_type() {
    handle t{H5Tcopy(H5T_C_S1), H5Tclose};
    H5Tset_size(t.get(), H5T_VARIABLE);
    H5Tset_cset(t.get(), H5T_CSET_UTF8);
    return t;
}

void check(herr_t status, const std::filesystem::path& path, const std::string& what) {
    if (status < 0) {
        throw error(
            fmt::format("cannot write '{}': {} ({})", path.string(), what, io::h5::last_error()));
    }
}

hid_t check_id(hid_t id, const std::filesystem::path& path, const std::string& what) {
    if (id < 0) {
        throw error(
            fmt::format("cannot write '{}': {} ({})", path.string(), what, io::h5::last_error()));
    }
    return id;
}

void write_string_attribute(hid_t obj, const std::string& name, const std::string& value,
                            const std::filesystem::path& path) {
    const handle type = string_type();
    const handle space{H5Screate(H5S_SCALAR), H5Sclose};
    const handle attr{
        check_id(H5Acreate2(obj, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
                 path, "attribute " + name),
        H5Aclose};
    const char* p = value.c_str();
    check(H5Awrite(attr.get(), type.get(), &p), path, "attribute " + name);
}

}  // namespace

const column* table::find(const std::string& name) const {
    for (const auto& c: columns) {
        if (c.name == name) {
            return &c;
        }
    }
    return nullptr;
}

table collect_table(const sweep_plan& plan, const std::vector<std::string>& configs) {
    const std::size_t rows = plan.points.size();
    std::vector<point_state> states;
    std::vector<std::vector<std::pair<std::string, double>>> metrics(rows);
    std::vector<std::string> populations;  // union over points, in order of first appearance
    std::vector<std::string> metric_names;
    for (std::size_t k = 0; k < rows; ++k) {
        states.push_back(read_point_state(plan.points[k].output,
                                          configs.empty() ? std::string() : configs.at(k)));
        if (states.back().info) {
            for (const auto& p: states.back().info->populations) {
                if (std::find(populations.begin(), populations.end(), p.name) ==
                    populations.end()) {
                    populations.push_back(p.name);
                }
            }
            metrics[k] = read_metrics(plan.points[k].output);
            for (const auto& [name, v]: metrics[k]) {
                (void)v;
                if (std::find(metric_names.begin(), metric_names.end(), name) ==
                    metric_names.end()) {
                    metric_names.push_back(name);
                }
            }
        }
    }

    table t;
    t.rows = rows;
    column index = numeric("point", "", rows);
    for (std::size_t k = 0; k < rows; ++k) {
        index.numbers[k] = static_cast<double>(k);
    }
    t.columns.push_back(std::move(index));
    for (std::size_t i = 0; i < plan.keys.size(); ++i) {
        t.columns.push_back(parameter_column(plan, i));
    }
    column status = text("status", rows);
    column steps_done = numeric("steps_done", "", rows);
    column n_steps = numeric("n_steps", "", rows);
    column wall = numeric("wall_seconds", "s", rows);
    column build = numeric("build_seconds", "s", rows);
    column spikes = numeric("spikes", "", rows);
    std::vector<column> rates;
    rates.reserve(populations.size());
    for (const auto& name: populations) {
        rates.push_back(numeric("rate." + name, "Hz", rows));
    }
    column rate = numeric("rate", "Hz", rows);
    column events = numeric("synaptic_events", "", rows);
    column neurons = numeric("n_neurons", "", rows);
    column synapses = numeric("n_synapses", "", rows);
    std::vector<column> metric_columns;
    metric_columns.reserve(metric_names.size());
    for (const auto& name: metric_names) {
        metric_columns.push_back(numeric("metrics." + name, "", rows));
    }
    column output = text("output", rows);

    for (std::size_t k = 0; k < rows; ++k) {
        const point_state& s = states[k];
        status.texts[k] = std::string(to_string(s.status));
        output.texts[k] = plan.points[k].output.string();
        if (!s.info) {
            continue;
        }
        const io::run_info& info = *s.info;
        n_steps.numbers[k] = static_cast<double>(info.n_steps);
        for (std::size_t m = 0; m < metric_names.size(); ++m) {
            for (const auto& [name, v]: metrics[k]) {
                if (name == metric_names[m]) {
                    metric_columns[m].numbers[k] = v;
                }
            }
        }
        if (!info.has_summary) {
            continue;  // killed: the counts were never written
        }
        steps_done.numbers[k] = static_cast<double>(info.steps_done);
        wall.numbers[k] = info.wall_seconds;
        build.numbers[k] = info.build_seconds;
        events.numbers[k] = static_cast<double>(info.synaptic_events);
        neurons.numbers[k] = static_cast<double>(info.n_neurons);
        synapses.numbers[k] = static_cast<double>(info.n_synapses);
        const double seconds = static_cast<double>(info.steps_done) * info.dt * 1e-3;
        std::uint64_t total = 0;
        for (const auto& p: info.populations) {
            total += p.spike_count;
            const auto at = std::find(populations.begin(), populations.end(), p.name);
            const auto r = static_cast<std::size_t>(at - populations.begin());
            if (seconds > 0 && p.size > 0) {
                rates[r].numbers[k] =
                    static_cast<double>(p.spike_count) / static_cast<double>(p.size) / seconds;
            }
        }
        spikes.numbers[k] = static_cast<double>(total);
        if (seconds > 0 && info.n_neurons > 0) {
            rate.numbers[k] =
                static_cast<double>(total) / static_cast<double>(info.n_neurons) / seconds;
        }
    }
    for (auto* c: {&status, &steps_done, &n_steps, &wall, &build, &spikes}) {
        t.columns.push_back(std::move(*c));
    }
    for (auto& c: rates) {
        t.columns.push_back(std::move(c));
    }
    for (auto* c: {&rate, &events, &neurons, &synapses}) {
        t.columns.push_back(std::move(*c));
    }
    for (auto& c: metric_columns) {
        t.columns.push_back(std::move(c));
    }
    t.columns.push_back(std::move(output));
    return t;
}

void write_csv(const table& t, const std::filesystem::path& path) {
    std::ofstream out(path);
    for (std::size_t c = 0; c < t.columns.size(); ++c) {
        const column& col = t.columns[c];
        out << (c > 0 ? "," : "")
            << csv_cell(col.unit.empty() ? col.name : col.name + " [" + col.unit + "]");
    }
    out << '\n';
    for (std::size_t r = 0; r < t.rows; ++r) {
        for (std::size_t c = 0; c < t.columns.size(); ++c) {
            const column& col = t.columns[c];
            if (c > 0) {
                out << ',';
            }
            if (!col.numeric) {
                out << csv_cell(col.texts[r]);
            } else if (!std::isnan(col.numbers[r])) {
                out << fmt::format("{}", col.numbers[r]);
            }
        }
        out << '\n';
    }
    out.close();
    if (!out) {
        throw error(fmt::format("cannot write '{}'", path.string()));
    }
}

void write_hdf5(const table& t, const sweep_plan& plan, const std::filesystem::path& path) {
    const io::h5::quiet_errors quiet;
    const handle file{check_id(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT),
                               path, "cannot create the file"),
                      H5Fclose};
    write_string_attribute(file.get(), "sweep", plan.name, path);
    write_string_attribute(file.get(), "file", plan.file, path);
    {
        const handle space{H5Screate(H5S_SCALAR), H5Sclose};
        const handle attr{check_id(H5Acreate2(file.get(), "points", H5T_STD_U64LE, space.get(),
                                              H5P_DEFAULT, H5P_DEFAULT),
                                   path, "attribute points"),
                          H5Aclose};
        const auto n = static_cast<std::uint64_t>(t.rows);
        check(H5Awrite(attr.get(), H5T_NATIVE_UINT64, &n), path, "attribute points");
    }
    const handle group{
        check_id(H5Gcreate2(file.get(), "table", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), path,
                 "group /table"),
        H5Gclose};
    const hsize_t rows[] = {static_cast<hsize_t>(t.rows)};
    const handle space{H5Screate_simple(1, rows, nullptr), H5Sclose};
    const handle strings = string_type();
    for (const auto& col: t.columns) {
        const std::string what = "dataset /table/" + col.name;
        const hid_t type = col.numeric ? H5T_IEEE_F64LE : strings.get();
        const handle dset{check_id(H5Dcreate2(group.get(), col.name.c_str(), type, space.get(),
                                              H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                                   path, what),
                          H5Dclose};
        if (t.rows > 0) {
            if (col.numeric) {
                check(H5Dwrite(dset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                               col.numbers.data()),
                      path, what);
            } else {
                std::vector<const char*> ptrs;
                for (const auto& s: col.texts) {
                    ptrs.push_back(s.c_str());
                }
                check(
                    H5Dwrite(dset.get(), strings.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()),
                    path, what);
            }
        }
        if (!col.unit.empty()) {
            write_string_attribute(dset.get(), "units", col.unit, path);
        }
    }
    // The column order, which HDF5's name-ordered links do not keep.
    const hsize_t n_columns[] = {static_cast<hsize_t>(t.columns.size())};
    const handle names_space{H5Screate_simple(1, n_columns, nullptr), H5Sclose};
    const handle attr{check_id(H5Acreate2(group.get(), "columns", strings.get(), names_space.get(),
                                          H5P_DEFAULT, H5P_DEFAULT),
                               path, "attribute /table@columns"),
                      H5Aclose};
    std::vector<const char*> names;
    for (const auto& col: t.columns) {
        names.push_back(col.name.c_str());
    }
    check(H5Awrite(attr.get(), strings.get(), names.data()), path, "attribute /table@columns");
}

collect_summary collect(const sweep_plan& plan, const std::vector<std::string>& configs) {
    const table t = collect_table(plan, configs);
    std::filesystem::create_directories(plan.directory);
    collect_summary s;
    s.csv = plan.directory / "collected.csv";
    s.hdf5 = plan.directory / "collected.h5";
    write_csv(t, s.csv);
    write_hdf5(t, plan, s.hdf5);
    for (const auto& status: t.find("status")->texts) {
        ++s.by_status[status];
    }
    return s;
}

}  // namespace glia::sweep
