#include "io/hdf5_reader.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>

#include <fmt/format.h>
#include <hdf5.h>

#include <glia/error.hpp>

#include "io/hdf5_common.hpp"
#include "io/hdf5_handle.hpp"

namespace glia::io {

namespace {

using h5::handle;

// A file open for reading; every failure names it.
class reader {
public:
    explicit reader(std::string path): path_(std::move(path)) {
        std::error_code ec;
        if (!std::filesystem::exists(path_, ec)) {
            fail("no such file");
        }
        const h5::quiet_errors quiet;
        const handle fapl{H5Pcreate(H5P_FILE_ACCESS), H5Pclose};
        // No lock: a file being written by glia holds none, and reading must not block.
        H5Pset_file_locking(fapl.get(), false, true);
        hid_t id = H5Fopen(path_.c_str(), H5F_ACC_RDONLY, fapl.get());
        if (id < 0) {
            std::string detail = h5::last_error();
            // A SONATA file left behind by a killed SWMR writer of another program keeps its
            // "open for writing" flag: it opens in SWMR read mode.
            if (detail.find("already open for write") != std::string::npos) {
                id = H5Fopen(path_.c_str(), H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, fapl.get());
                if (id < 0) {
                    detail = h5::last_error();
                }
            }
            if (id < 0) {
                fail("not a readable HDF5 file" +
                     (detail.empty() ? "" : " (HDF5: " + detail + ")"));
            }
        }
        file_ = handle{id, H5Fclose};
    }

    const std::string& path() const { return path_; }
    hid_t id() const { return file_.get(); }

    [[noreturn]] void fail(const std::string& what) const {
        throw glia::error(fmt::format("cannot read '{}': {}", path_, what));
    }

    // Does the object at absolute `object_path` ("/a/b/c") exist?
    bool exists(const std::string& object_path) const {
        const h5::quiet_errors quiet;
        std::size_t pos = 0;
        while (pos < object_path.size()) {
            const std::size_t next = object_path.find('/', pos + 1);
            const std::string prefix = object_path.substr(0, next);
            if (prefix != "/" && !prefix.empty()) {
                if (H5Lexists(file_.get(), prefix.c_str(), H5P_DEFAULT) <= 0) {
                    H5Eclear2(H5E_DEFAULT);
                    return false;
                }
            }
            if (next == std::string::npos) {
                break;
            }
            pos = next;
        }
        return true;
    }

    handle open_group(const std::string& group_path, const std::string& missing) const {
        if (!exists(group_path)) {
            fail(missing);
        }
        const h5::quiet_errors quiet;
        const hid_t id = H5Gopen2(file_.get(), group_path.c_str(), H5P_DEFAULT);
        if (id < 0) {
            fail(fmt::format("{} is not a group", group_path));
        }
        return {id, H5Gclose};
    }

    handle open_dataset(const std::string& dset_path) const {
        if (!exists(dset_path)) {
            fail(fmt::format("no dataset {}", dset_path));
        }
        const h5::quiet_errors quiet;
        const hid_t id = H5Dopen2(file_.get(), dset_path.c_str(), H5P_DEFAULT);
        if (id < 0) {
            fail(fmt::format("{} is not a dataset", dset_path));
        }
        return {id, H5Dclose};
    }

    // Dimensions of a dataset.
    std::vector<hsize_t> dims(hid_t dset, const std::string& what) const {
        const handle space{H5Dget_space(dset), H5Sclose};
        const int rank = space.valid() ? H5Sget_simple_extent_ndims(space.get()) : -1;
        if (rank < 0) {
            fail(fmt::format("cannot get the shape of {}", what));
        }
        std::vector<hsize_t> d(static_cast<std::size_t>(rank));
        H5Sget_simple_extent_dims(space.get(), d.data(), nullptr);
        return d;
    }

    // All values of a dataset, converted to T (mem_type).
    template <typename T>
    std::vector<T> read_all(const std::string& dset_path, hid_t mem_type) const {
        const handle dset = open_dataset(dset_path);
        const auto d = dims(dset.get(), dset_path);
        std::size_t n = 1;
        for (auto x: d) {
            n *= x;
        }
        std::vector<T> out(n);
        const h5::quiet_errors quiet;
        if (n > 0 && H5Dread(dset.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0) {
            fail(fmt::format("cannot read {} ({})", dset_path, h5::last_error()));
        }
        return out;
    }

    std::vector<std::string> read_strings(const std::string& dset_path) const {
        const handle dset = open_dataset(dset_path);
        const auto d = dims(dset.get(), dset_path);
        const std::size_t n = d.empty() ? 1 : d[0];
        const h5::quiet_errors quiet;
        const handle type{H5Dget_type(dset.get()), H5Tclose};
        if (!type.valid() || H5Tget_class(type.get()) != H5T_STRING) {
            fail(fmt::format("{} does not hold strings", dset_path));
        }
        std::vector<std::string> out;
        if (n == 0) {
            return out;
        }
        if (H5Tis_variable_str(type.get()) > 0) {
            const handle mem{H5Tcopy(H5T_C_S1), H5Tclose};
            H5Tset_size(mem.get(), H5T_VARIABLE);
            H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
            std::vector<char*> texts(n, nullptr);
            if (H5Dread(dset.get(), mem.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, texts.data()) < 0) {
                fail(fmt::format("cannot read {} ({})", dset_path, h5::last_error()));
            }
            for (char* t: texts) {
                out.emplace_back(t != nullptr ? t : "");
            }
            const handle space{H5Dget_space(dset.get()), H5Sclose};
            H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, texts.data());
        } else {
            const std::size_t size = H5Tget_size(type.get());
            std::vector<char> buffer(n * size);
            if (H5Dread(dset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data()) < 0) {
                fail(fmt::format("cannot read {} ({})", dset_path, h5::last_error()));
            }
            for (std::size_t i = 0; i < n; ++i) {
                std::string s(buffer.data() + i * size, size);
                s.erase(s.find_last_not_of('\0') + 1);
                out.push_back(std::move(s));
            }
        }
        return out;
    }

private:
    std::string path_;
    handle file_;
};

handle open_attribute(hid_t obj, const std::string& name) {
    const h5::quiet_errors quiet;
    if (H5Aexists(obj, name.c_str()) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return {};
    }
    return {H5Aopen(obj, name.c_str(), H5P_DEFAULT), H5Aclose};
}

// A string attribute (variable or fixed length); nullopt if absent or not a string.
std::optional<std::string> string_attribute(hid_t obj, const std::string& name) {
    const handle attr = open_attribute(obj, name);
    if (!attr.valid()) {
        return std::nullopt;
    }
    const h5::quiet_errors quiet;
    const handle type{H5Aget_type(attr.get()), H5Tclose};
    if (!type.valid() || H5Tget_class(type.get()) != H5T_STRING) {
        return std::nullopt;
    }
    if (H5Tis_variable_str(type.get()) > 0) {
        const handle mem{H5Tcopy(H5T_C_S1), H5Tclose};
        H5Tset_size(mem.get(), H5T_VARIABLE);
        H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
        char* text = nullptr;
        if (H5Aread(attr.get(), mem.get(), &text) < 0) {
            return std::nullopt;
        }
        std::string out = text != nullptr ? text : "";
        H5free_memory(text);
        return out;
    }
    const std::size_t size = H5Tget_size(type.get());
    std::string out(size, '\0');
    if (H5Aread(attr.get(), type.get(), out.data()) < 0) {
        return std::nullopt;
    }
    out.erase(out.find_last_not_of('\0') + 1);
    return out;
}

// A numeric attribute converted to T (mem_type); nullopt if absent or not convertible.
template <typename T>
std::optional<T> number_attribute(hid_t obj, const std::string& name, hid_t mem_type) {
    const handle attr = open_attribute(obj, name);
    if (!attr.valid()) {
        return std::nullopt;
    }
    const h5::quiet_errors quiet;
    T value{};
    if (H5Aread(attr.get(), mem_type, &value) < 0) {
        H5Eclear2(H5E_DEFAULT);
        return std::nullopt;
    }
    return value;
}

// SONATA's `sorting`: an enum (BBP, libsonatareport, glia) or a string (BMTK).
std::string sorting_attribute(hid_t obj) {
    const handle attr = open_attribute(obj, "sorting");
    if (!attr.valid()) {
        return "";
    }
    const h5::quiet_errors quiet;
    const handle type{H5Aget_type(attr.get()), H5Tclose};
    if (type.valid() && H5Tget_class(type.get()) == H5T_ENUM) {
        const handle native{H5Tget_native_type(type.get(), H5T_DIR_ASCEND), H5Tclose};
        std::vector<unsigned char> value(H5Tget_size(native.get()) + 8, 0);
        char name[64] = {};
        if (H5Aread(attr.get(), native.get(), value.data()) >= 0 &&
            H5Tenum_nameof(native.get(), value.data(), name, sizeof(name)) >= 0) {
            return name;
        }
        H5Eclear2(H5E_DEFAULT);
        return "";
    }
    return string_attribute(obj, "sorting").value_or("");
}

std::string require_string(const reader& r, hid_t obj, const std::string& where,
                           const std::string& name) {
    auto v = string_attribute(obj, name);
    if (!v) {
        r.fail(fmt::format("{} has no string attribute '{}'", where, name));
    }
    return *v;
}

template <typename T>
T require_number(const reader& r, hid_t obj, const std::string& where, const std::string& name,
                 hid_t mem_type) {
    auto v = number_attribute<T>(obj, name, mem_type);
    if (!v) {
        r.fail(fmt::format("{} has no numeric attribute '{}'", where, name));
    }
    return *v;
}

std::vector<std::string> group_members(hid_t group) {
    std::vector<std::string> names;
    const h5::quiet_errors quiet;
    H5Literate(
        group, H5_INDEX_NAME, H5_ITER_INC, nullptr,
        [](hid_t, const char* name, const H5L_info_t*, void* out) -> herr_t {
            static_cast<std::vector<std::string>*>(out)->emplace_back(name);
            return 0;
        },
        &names);
    return names;
}

bool is_legacy_spikes(const reader& r) {
    return !r.exists("/spikes/timestamps") ? false : r.exists("/spikes/gids");
}

}  // namespace

std::vector<std::string> list_spike_populations(const std::string& path) {
    const reader r(path);
    if (!r.exists("/spikes")) {
        return {};
    }
    if (is_legacy_spikes(r)) {
        return {""};
    }
    const handle spikes = r.open_group("/spikes", "no group /spikes");
    std::vector<std::string> out;
    for (auto& name: group_members(spikes.get())) {
        if (r.exists("/spikes/" + name + "/timestamps")) {
            out.push_back(std::move(name));
        }
    }
    return out;
}

spike_data read_spikes(const std::string& path, const std::string& population) {
    const reader r(path);
    spike_data out;
    if (population.empty()) {
        if (!is_legacy_spikes(r)) {
            r.fail("no legacy spikes (/spikes/gids and /spikes/timestamps); name a population");
        }
        out.timestamps = r.read_all<double>("/spikes/timestamps", H5T_NATIVE_DOUBLE);
        out.node_ids = r.read_all<std::uint64_t>("/spikes/gids", H5T_NATIVE_UINT64);
        const handle spikes = r.open_group("/spikes", "no group /spikes");
        out.sorting = sorting_attribute(spikes.get());
    } else {
        const std::string group_path = "/spikes/" + population;
        if (!r.exists(group_path)) {
            const auto available =
                r.exists("/spikes") ? list_spike_populations(path) : std::vector<std::string>{};
            r.fail(fmt::format("no spikes of population '{}' (no group {}; spike populations: {})",
                               population, group_path,
                               available.empty() ? "none"
                                                 : fmt::format("{}", fmt::join(available, ", "))));
        }
        const handle group = r.open_group(group_path, "no group " + group_path);
        out.timestamps = r.read_all<double>(group_path + "/timestamps", H5T_NATIVE_DOUBLE);
        out.node_ids = r.read_all<std::uint64_t>(group_path + "/node_ids", H5T_NATIVE_UINT64);
        out.sorting = sorting_attribute(group.get());
    }
    // A writer killed while it grew the two datasets can leave one a round longer.
    const std::size_t n = std::min(out.timestamps.size(), out.node_ids.size());
    out.timestamps.resize(n);
    out.node_ids.resize(n);
    return out;
}

namespace {

report_summary report_metadata_at(const reader& r, const std::string& base);

// Checks the report group of `population` and reads everything but the data and node ids.
report_summary report_metadata(const reader& r, const std::string& population) {
    const std::string base = "/report/" + population;
    if (!r.exists(base)) {
        std::vector<std::string> available;
        if (r.exists("/report")) {
            const handle reports = r.open_group("/report", "no group /report");
            available = group_members(reports.get());
        }
        r.fail(fmt::format(
            "no report of population '{}' (no group {}; reported populations: {})", population,
            base, available.empty() ? "none" : fmt::format("{}", fmt::join(available, ", "))));
    }
    return report_metadata_at(r, base);
}

// The report in group `base` (SONATA report layout), everything but data and node ids.
report_summary report_metadata_at(const reader& r, const std::string& base) {
    if (!r.exists(base + "/data")) {
        r.fail(fmt::format("no report in group {} (no {}/data)", base, base));
    }
    report_summary out;
    const handle dset = r.open_dataset(base + "/data");
    const auto d = r.dims(dset.get(), base + "/data");
    if (d.size() != 2) {
        r.fail(fmt::format("{}/data has rank {}, expected 2 (frames x values)", base, d.size()));
    }
    out.n_frames = d[0];
    out.units = string_attribute(dset.get(), "units").value_or("");
    out.variable = string_attribute(dset.get(), "variable").value_or("");
    {
        const handle ids = r.open_dataset(base + "/mapping/node_ids");
        const auto n = r.dims(ids.get(), base + "/mapping/node_ids");
        out.n_nodes = n.size() == 1 ? n[0] : 0;
    }
    if (d[1] != out.n_nodes) {
        r.fail(fmt::format("{} has {} values per frame for {} nodes (multi-compartment reports are "
                           "not supported)",
                           base, d[1], out.n_nodes));
    }
    const auto time = r.read_all<double>(base + "/mapping/time", H5T_NATIVE_DOUBLE);
    if (time.size() != 3) {
        r.fail(fmt::format("{}/mapping/time has {} values, expected 3 (start, stop, dt)", base,
                           time.size()));
    }
    out.t_start = time[0];
    out.t_stop = time[1];
    out.dt = time[2];
    // A writer killed while it grew data and mapping/time can leave the data a round longer:
    // the frames are those both say are there.
    if (out.dt > 0) {
        const double by_time = std::round((out.t_stop - out.t_start) / out.dt);
        if (by_time >= 0 && by_time < static_cast<double>(out.n_frames)) {
            out.n_frames = static_cast<std::size_t>(by_time);
        }
    }
    out.t_stop = out.t_start + static_cast<double>(out.n_frames) * out.dt;
    return out;
}

}  // namespace

report_summary summarize_report(const std::string& path, const std::string& population) {
    const reader r(path);
    return report_metadata(r, population);
}

report_summary summarize_report_at(const std::string& path, const std::string& group) {
    const reader r(path);
    return report_metadata_at(r, group);
}

namespace {

report_data read_report_group(const reader& r, const report_summary& meta,
                              const std::string& base) {
    report_data out;
    out.n_frames = meta.n_frames;
    out.t_start = meta.t_start;
    out.t_stop = meta.t_stop;
    out.dt = meta.dt;
    out.units = meta.units;
    out.variable = meta.variable;
    out.data = r.read_all<float>(base + "/data", H5T_NATIVE_FLOAT);
    out.data.resize(meta.n_frames * meta.n_nodes);
    out.node_ids = r.read_all<std::uint64_t>(base + "/mapping/node_ids", H5T_NATIVE_UINT64);
    return out;
}

}  // namespace

report_data read_report(const std::string& path, const std::string& population) {
    const reader r(path);
    return read_report_group(r, report_metadata(r, population), "/report/" + population);
}

report_data read_report_at(const std::string& path, const std::string& group) {
    const reader r(path);
    return read_report_group(r, report_metadata_at(r, group), group);
}

weight_data read_weights(const std::string& path, const std::string& projection) {
    const reader r(path);
    const std::string base = "/weights/" + projection;
    if (!r.exists(base + "/weight")) {
        r.fail(fmt::format("no weight snapshots of projection '{}' ({}/weight)", projection,
                           base));
    }
    weight_data out;
    out.source = r.read_all<std::uint64_t>(base + "/source", H5T_NATIVE_UINT64);
    out.target = r.read_all<std::uint64_t>(base + "/target", H5T_NATIVE_UINT64);
    out.delay = r.read_all<double>(base + "/delay", H5T_NATIVE_DOUBLE);
    out.time = r.read_all<double>(base + "/time", H5T_NATIVE_DOUBLE);
    out.weight = r.read_all<float>(base + "/weight", H5T_NATIVE_FLOAT);
    {
        const handle dset = r.open_dataset(base + "/weight");
        out.units = string_attribute(dset.get(), "units").value_or("");
    }
    // A kill between the two extent updates can leave one more row in one of the two.
    const std::size_t width = std::max<std::size_t>(1, out.source.size());
    const std::size_t rows = std::min(out.time.size(), out.weight.size() / width);
    out.time.resize(rows);
    out.weight.resize(rows * out.source.size());
    return out;
}

spike_summary summarize_spikes(const std::string& path, const std::string& population) {
    const reader r(path);
    const std::string group_path = population.empty() ? "/spikes" : "/spikes/" + population;
    if (!r.exists(group_path + "/timestamps")) {
        r.fail(fmt::format("no dataset {}/timestamps", group_path));
    }
    const handle group = r.open_group(group_path, "no group " + group_path);
    const handle dset = r.open_dataset(group_path + "/timestamps");
    const auto d = r.dims(dset.get(), group_path + "/timestamps");
    spike_summary out;
    out.count = d.size() == 1 ? d[0] : 0;
    if (out.count == 0) {
        return out;
    }
    if (sorting_attribute(group.get()) == "by_time") {
        const h5::quiet_errors quiet;
        const handle space{H5Dget_space(dset.get()), H5Sclose};
        const hsize_t start[] = {out.count - 1};
        const hsize_t count[] = {1};
        const handle mem{H5Screate_simple(1, count, nullptr), H5Sclose};
        if (H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr) < 0 ||
            H5Dread(dset.get(), H5T_NATIVE_DOUBLE, mem.get(), space.get(), H5P_DEFAULT,
                    &out.last_time) < 0) {
            r.fail(fmt::format("cannot read {}/timestamps ({})", group_path, h5::last_error()));
        }
        return out;
    }
    const auto all = r.read_all<double>(group_path + "/timestamps", H5T_NATIVE_DOUBLE);
    out.last_time = *std::max_element(all.begin(), all.end());
    return out;
}

run_info read_run_info(const std::string& path) {
    const reader r(path);
    const handle run = r.open_group("/run", "no group /run (not a glia output file?)");
    const hid_t g = run.get();
    const std::string where = "/run";
    run_info info;
    info.status = require_string(r, g, where, "status");
    info.config = require_string(r, g, where, "config");
    info.source_path = require_string(r, g, where, "source_path");
    info.version = require_string(r, g, where, "version");
    info.git_hash = require_string(r, g, where, "git_hash");
    info.host = require_string(r, g, where, "host");
    info.command_line = require_string(r, g, where, "command_line");
    info.started = require_string(r, g, where, "started");
    info.seed = require_number<std::uint64_t>(r, g, where, "seed", H5T_NATIVE_UINT64);
    info.dt = require_number<double>(r, g, where, "dt", H5T_NATIVE_DOUBLE);
    info.duration = require_number<double>(r, g, where, "duration", H5T_NATIVE_DOUBLE);
    info.n_steps = require_number<std::int64_t>(r, g, where, "n_steps", H5T_NATIVE_INT64);
    info.error = h5::read_string_attribute(g, "error").value_or("");

    // The status says whether the summary attributes hold the end of the run (before, they
    // are placeholders).
    if (info.status == "complete" || info.status == "interrupted") {
        info.has_summary = true;
        info.steps_done = require_number<std::int64_t>(r, g, where, "steps_done", H5T_NATIVE_INT64);
        info.wall_seconds = require_number<double>(r, g, where, "wall_seconds", H5T_NATIVE_DOUBLE);
        info.build_seconds =
            require_number<double>(r, g, where, "build_seconds", H5T_NATIVE_DOUBLE);
        info.n_neurons = require_number<std::uint64_t>(r, g, where, "n_neurons", H5T_NATIVE_UINT64);
        info.n_synapses =
            require_number<std::uint64_t>(r, g, where, "n_synapses", H5T_NATIVE_UINT64);
        info.synaptic_events =
            require_number<std::uint64_t>(r, g, where, "synaptic_events", H5T_NATIVE_UINT64);
    }

    const auto names = r.read_strings("/run/population_names");
    const auto models = r.read_strings("/run/population_models");
    const auto first = r.read_all<std::uint64_t>("/run/population_first_gids", H5T_NATIVE_UINT64);
    const auto sizes = r.read_all<std::uint64_t>("/run/population_sizes", H5T_NATIVE_UINT64);
    const auto recorded =
        r.read_all<std::uint8_t>("/run/population_spikes_recorded", H5T_NATIVE_UINT8);
    const std::size_t n = names.size();
    if (models.size() != n || first.size() != n || sizes.size() != n || recorded.size() != n) {
        r.fail(fmt::format("the /run/population_* datasets differ in length ({} names)", n));
    }
    std::vector<std::uint64_t> counts;
    // A protocol run's file (two_phase, timeseries) has no whole-run spike counts.
    const bool has_counts = info.has_summary && r.exists("/run/spike_counts");
    if (has_counts) {
        counts = r.read_all<std::uint64_t>("/run/spike_counts", H5T_NATIVE_UINT64);
        if (counts.size() != n) {
            r.fail(fmt::format("/run/spike_counts has {} values for {} populations", counts.size(),
                               n));
        }
    }
    for (std::size_t i = 0; i < n; ++i) {
        population_info p;
        p.name = names[i];
        p.model = models[i];
        p.first_gid = first[i];
        p.size = sizes[i];
        p.spikes_recorded = recorded[i] != 0;
        p.has_spike_count = has_counts;
        p.spike_count = has_counts ? counts[i] : 0;
        info.populations.push_back(std::move(p));
    }

    const auto r_name = r.read_strings("/run/reports/name");
    const auto r_pop = r.read_strings("/run/reports/population");
    const auto r_var = r.read_strings("/run/reports/variable");
    const auto r_unit = r.read_strings("/run/reports/unit");
    const auto r_file = r.read_strings("/run/reports/file");
    const auto r_path = r.read_strings("/run/reports/path");
    const std::size_t m = r_name.size();
    if (r_pop.size() != m || r_var.size() != m || r_unit.size() != m || r_file.size() != m ||
        r_path.size() != m) {
        r.fail(fmt::format("the /run/reports datasets differ in length ({} names)", m));
    }
    for (std::size_t i = 0; i < m; ++i) {
        info.reports.push_back({r_name[i], r_pop[i], r_var[i], r_unit[i], r_file[i], r_path[i]});
    }
    return info;
}

}  // namespace glia::io
