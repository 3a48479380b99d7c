#include "io/hdf5_writer.hpp"

#include <algorithm>
#include <climits>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <system_error>
#include <utility>

#include <fmt/format.h>
#include <hdf5.h>

#include <glia/error.hpp>
#include <glia/text.hpp>

#include "io/hdf5_column.hpp"
#include "io/hdf5_common.hpp"
#include "io/hdf5_handle.hpp"
#include "io/hdf5_sink_state.hpp"

#include <fcntl.h>
#include <unistd.h>

namespace glia::io {

namespace {

namespace fs = std::filesystem;
using h5::check_id;
using h5::check_status;
using h5::column;
using h5::handle;
using h5::make_group;
using h5::open_or_make_group;
using h5::overwrite_attribute;
using h5::plist;
using h5::scalar_space;
using h5::simple_space;
using h5::write_attribute;
using h5::write_dataset;
using h5::write_f64_attribute;
using h5::write_i64_attribute;
using h5::write_run_summary;
using h5::write_status;
using h5::write_string_attribute;
using h5::write_strings;
using h5::write_u64_attribute;
using h5::write_u64s;

// The raw (unfiltered) chunks we write with H5Dwrite_chunk are the bytes of our buffers: the
// file types below are little-endian, so the buffers must be too.
static_assert(std::endian::native == std::endian::little,
              "hdf5_sink writes raw chunks in native byte order, which must be little-endian");

constexpr std::uint32_t sonata_magic = 0x0A7A;
constexpr std::uint32_t sonata_version[2] = {0, 1};

std::string errno_text(int e) {
    return std::generic_category().message(e);
}

// The SONATA root attributes: magic (uint32 scalar) and version (uint32[2]).
void write_root_attributes(hid_t file_id, const std::string& file) {
    const handle scalar = scalar_space(file);
    write_attribute(file_id, "magic", H5T_STD_U32LE, scalar.get(), H5T_NATIVE_UINT32, &sonata_magic,
                    file);
    const hsize_t two[] = {2};
    const handle pair = simple_space(two, {}, file);
    write_attribute(file_id, "version", H5T_STD_U32LE, pair.get(), H5T_NATIVE_UINT32,
                    sonata_version, file);
}

void validate_name(const std::string& name, const char* what) {
    if (name.empty() || name == "." || name.find('/') != std::string::npos) {
        throw glia::error(fmt::format(
            "{} name '{}' cannot name an HDF5 group: it must be non-empty, not '.', without '/'",
            what, name));
    }
}

}  // namespace

std::string report_group_path(const run_layout& layout, const report_layout& rep) {
    const auto& pop = layout.populations[rep.population];
    return pop.emits_spikes ? "/report/" + pop.name
                            : "/astrocytes/" + pop.name + "/" + rep.variable;
}

void hdf5_sink::state::create_spikes(hid_t file_id, const std::string& file) {
    handle spikes_group = make_group(file_id, "spikes", file);
    spike_output_of.assign(layout.populations.size(), -1);
    for (std::size_t p = 0; p < layout.populations.size(); ++p) {
        const auto& pop = layout.populations[p];
        if (!pop.spikes_recorded) {
            continue;
        }
        spike_output out;
        out.population = p;
        out.group = make_group(spikes_group.get(), pop.name, file);
        // sorting: the SONATA enum {none, by_id, by_time}; we emit in time order.
        handle sorting{check_id(H5Tenum_create(H5T_STD_U8LE), file, "cannot create an enum"),
                       H5Tclose};
        const std::uint8_t none = 0, by_id = 1, by_time = 2;
        check_status(H5Tenum_insert(sorting.get(), "none", &none), file, "cannot build enum");
        check_status(H5Tenum_insert(sorting.get(), "by_id", &by_id), file, "cannot build enum");
        check_status(H5Tenum_insert(sorting.get(), "by_time", &by_time), file,
                     "cannot build enum");
        const handle scalar = scalar_space(file);
        write_attribute(out.group.get(), "sorting", sorting.get(), scalar.get(), sorting.get(),
                        &by_time, file);
        const auto chunk = static_cast<hsize_t>(options.spike_chunk);
        out.timestamps.emplace(out.group.get(), "timestamps", H5T_IEEE_F64LE, sizeof(double), 1,
                               1, chunk, 1, options.deflate_level, file);
        write_string_attribute(out.timestamps->id(), "units", "ms", file);
        out.node_ids.emplace(out.group.get(), "node_ids", H5T_STD_U64LE, sizeof(std::uint64_t),
                             1, 1, chunk, 1, options.deflate_level, file);
        spike_output_of[p] = static_cast<std::ptrdiff_t>(spike_outputs.size());
        spike_outputs.push_back(std::move(out));
    }
}

void hdf5_sink::state::create_report(std::size_t r, std::size_t file_index) {
    const auto& rep = layout.reports[r];
    const auto& pop = layout.populations[rep.population];
    const std::string& file = files[file_index].path;
    const hid_t file_id = files[file_index].file.get();
    report_output out;
    out.file = file_index;
    out.width = rep.node_ids.size();
    out.t_start = static_cast<double>(rep.start_step) * layout.dt;
    out.dt = static_cast<double>(rep.interval_steps) * layout.dt;
    if (pop.emits_spikes) {
        const handle report_group = open_or_make_group(file_id, "report", file);
        out.group = make_group(report_group.get(), pop.name, file);
    } else {
        const handle astro_group = open_or_make_group(file_id, "astrocytes", file);
        const handle pop_group = open_or_make_group(astro_group.get(), pop.name, file);
        out.group = make_group(pop_group.get(), rep.variable, file);
    }
    write_string_attribute(out.group.get(), "report", rep.name, file);

    const auto width = static_cast<hsize_t>(out.width);
    const hsize_t values = std::max<hsize_t>(1, options.report_chunk_values);
    const hsize_t chunk_cols = std::min(width, values);
    const hsize_t chunk_rows = std::max<hsize_t>(1, values / chunk_cols);
    out.data.emplace(out.group.get(), "data", H5T_IEEE_F32LE, sizeof(float), 2, width,
                     chunk_rows, chunk_cols, options.deflate_level, file);
    write_string_attribute(out.data->id(), "units", rep.unit, file);
    write_string_attribute(out.data->id(), "variable", rep.variable, file);

    handle mapping = make_group(out.group.get(), "mapping", file);
    std::vector<std::uint64_t> ids(rep.node_ids.begin(), rep.node_ids.end());
    write_u64s(mapping.get(), "node_ids", ids, file);
    std::vector<std::uint64_t> pointers(ids.size() + 1);
    for (std::size_t i = 0; i < pointers.size(); ++i) {
        pointers[i] = i;
    }
    write_u64s(mapping.get(), "index_pointers", pointers, file);
    const std::vector<std::uint32_t> elements(ids.size(), 0);
    write_dataset(mapping.get(), "element_ids", H5T_STD_U32LE, H5T_NATIVE_UINT32,
                  elements.size(), elements.data(), false, file);
    const double time[3] = {out.t_start, out.t_start, out.dt};
    out.time = write_dataset(mapping.get(), "time", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 3, time,
                             true, file);
    write_string_attribute(out.time.get(), "units", "ms", file);
    reports.push_back(std::move(out));
}

void hdf5_sink::state::create_weights(hid_t file_id, const std::string& file) {
    if (layout.weights.empty()) {
        return;
    }
    handle group = make_group(file_id, "weights", file);
    for (const auto& wl: layout.weights) {
        weight_output out;
        out.width = wl.sources.size();
        handle g = make_group(group.get(), wl.projection, file);
        write_string_attribute(g.get(), "rule", wl.rule, file);
        write_string_attribute(g.get(), "source_population",
                               layout.populations[wl.source_population].name, file);
        write_string_attribute(g.get(), "target_population",
                               layout.populations[wl.target_population].name, file);
        write_u64s(g.get(), "source", std::vector<std::uint64_t>(wl.sources.begin(),
                                                                  wl.sources.end()),
                   file);
        write_u64s(g.get(), "target", std::vector<std::uint64_t>(wl.targets.begin(),
                                                                  wl.targets.end()),
                   file);
        std::vector<double> delay_ms;
        for (step_t d: wl.delays) {
            delay_ms.push_back(static_cast<double>(d) * layout.dt);
        }
        handle delay = write_dataset(g.get(), "delay", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                                     delay_ms.size(), delay_ms.data(), false, file);
        write_string_attribute(delay.get(), "units", "ms", file);
        out.time.emplace(g.get(), "time", H5T_IEEE_F64LE, sizeof(double), 1, 1, 64, 1,
                         options.deflate_level, file);
        write_string_attribute(out.time->id(), "units", "ms", file);
        const auto width = static_cast<hsize_t>(std::max<std::size_t>(1, out.width));
        const hsize_t values = std::max<hsize_t>(1, options.report_chunk_values);
        const hsize_t chunk_cols = std::min(width, values);
        const hsize_t chunk_rows = std::max<hsize_t>(1, values / chunk_cols);
        out.weight.emplace(g.get(), "weight", H5T_IEEE_F32LE, sizeof(float), 2, width,
                           chunk_rows, chunk_cols, options.deflate_level, file);
        write_string_attribute(out.weight->id(), "units", wl.unit, file);
        weight_outputs.push_back(std::move(out));
    }
}

void hdf5_sink::state::create_run(hid_t file_id, const std::string& file,
                                  const std::vector<std::string>& report_files) {
    run_group = make_group(file_id, "run", file);
    const hid_t g = run_group.get();
    write_string_attribute(g, "config", prov.config_text, file);
    write_string_attribute(g, "source_path", prov.source_path, file);
    write_u64_attribute(g, "seed", layout.seed, file);
    write_string_attribute(g, "version", prov.version, file);
    write_string_attribute(g, "git_hash", prov.git_hash, file);
    write_string_attribute(g, "host", prov.host, file);
    write_string_attribute(g, "command_line", prov.command_line, file);
    write_string_attribute(g, "started", prov.started, file);
    write_f64_attribute(g, "dt", layout.dt, file);
    write_f64_attribute(g, "duration", prov.duration_ms, file);
    write_i64_attribute(g, "n_steps", layout.n_steps, file);
    // What end() writes, created now and overwritten in place then: end() changes no
    // structure, so a kill during it cannot break the file. Until /run@status says
    // otherwise, these are placeholders.
    write_run_summary(g, run_summary{}, file);
    write_status(g, "running", file, true);

    std::vector<std::string> names, models;
    std::vector<std::uint64_t> first, sizes;
    std::vector<std::uint8_t> recorded;
    for (const auto& pop: layout.populations) {
        names.push_back(pop.name);
        models.push_back(pop.model);
        first.push_back(pop.first_gid);
        sizes.push_back(pop.size);
        recorded.push_back(pop.spikes_recorded ? 1 : 0);
    }
    write_strings(g, "population_names", names, file);
    write_strings(g, "population_models", models, file);
    write_u64s(g, "population_first_gids", first, file);
    write_u64s(g, "population_sizes", sizes, file);
    write_dataset(g, "population_spikes_recorded", H5T_STD_U8LE, H5T_NATIVE_UINT8,
                  recorded.size(), recorded.data(), false, file);
    spike_counts = write_dataset(
        g, "spike_counts", H5T_STD_U64LE, H5T_NATIVE_UINT64, layout.populations.size(),
        std::vector<std::uint64_t>(layout.populations.size(), 0).data(), false, file);

    // /run/reports: one row per report across parallel string datasets.
    handle table = make_group(g, "reports", file);
    std::vector<std::string> r_name, r_pop, r_var, r_unit, r_file, r_path;
    for (std::size_t r = 0; r < layout.reports.size(); ++r) {
        const auto& rep = layout.reports[r];
        const std::string& pop = layout.populations[rep.population].name;
        r_name.push_back(rep.name);
        r_pop.push_back(pop);
        r_var.push_back(rep.variable);
        r_unit.push_back(rep.unit);
        r_file.push_back(report_files[r]);
        r_path.push_back(report_group_path(layout, rep));
    }
    write_strings(table.get(), "name", r_name, file);
    write_strings(table.get(), "population", r_pop, file);
    write_strings(table.get(), "variable", r_var, file);
    write_strings(table.get(), "unit", r_unit, file);
    write_strings(table.get(), "file", r_file, file);
    write_strings(table.get(), "path", r_path, file);
}

void hdf5_sink::state::update_report_times() {
    for (auto& rep: reports) {
        const std::size_t frames = rep.data->extent();
        if (rep.frames_in_time == frames) {
            continue;
        }
        const double time[3] = {rep.t_start, rep.t_start + static_cast<double>(frames) * rep.dt,
                                rep.dt};
        check_status(
            H5Dwrite(rep.time.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, time),
            files[rep.file].path, "cannot write mapping/time");
        rep.frames_in_time = frames;
    }
}

void hdf5_sink::state::flush_files() {
    for (auto& f: files) {
        check_status(H5Fflush(f.file.get(), H5F_SCOPE_GLOBAL), f.path, "cannot flush");
    }
}

std::vector<column*> hdf5_sink::state::columns() {
    std::vector<column*> out;
    for (auto& s: spike_outputs) {
        out.push_back(&*s.timestamps);
        out.push_back(&*s.node_ids);
    }
    for (auto& r: reports) {
        out.push_back(&*r.data);
    }
    for (auto& w: weight_outputs) {
        out.push_back(&*w.time);
        out.push_back(&*w.weight);
    }
    return out;
}

namespace {
// Runs `f`; a glia::error (a failed write) leaves the sink abandoned: nothing more is written.
template <typename F>
void abandon_on_error(bool& abandoned, F&& f) {
    try {
        f();
    }
    catch (const glia::error&) {
        abandoned = true;
        throw;
    }
}
}  // namespace

void hdf5_sink::state::write_out() {
    abandon_on_error(abandoned, [this] { write_out_unguarded(); });
}

void hdf5_sink::state::write_out_unguarded() {
    const auto cols = columns();
    for (;;) {
        bool wrote = false;
        for (column* c: cols) {
            wrote = c->write_chunk_row() || wrote;
        }
        if (!wrote) {
            break;
        }
        flush_files();
        for (column* c: cols) {
            c->commit_extent();
        }
        update_report_times();
        flush_files();
    }
    for (column* c: cols) {
        c->trim();
    }
    unwritten_bytes = 0;
}

void hdf5_sink::state::flush_all() {
    if (abandoned) {
        throw glia::error(fmt::format("cannot write output file '{}': an earlier write failed",
                                      main_path()));
    }
    write_out();
    abandon_on_error(abandoned, [this] { flush_and_sync(); });
}

void hdf5_sink::state::flush_and_sync() {
    flush_files();
    for (auto& f: files) {
        void* vfd = nullptr;
        check_status(H5Fget_vfd_handle(f.file.get(), H5P_DEFAULT, &vfd), f.path,
                     "cannot get the file descriptor");
        if (vfd != nullptr && ::fdatasync(*static_cast<int*>(vfd)) != 0 && errno != EINVAL) {
            throw glia::error(fmt::format("cannot write output file '{}': fdatasync: {}",
                                          f.path, errno_text(errno)));
        }
    }
}

void hdf5_sink::state::close_all(bool check) {
    reports.clear();
    weight_outputs.clear();
    spike_outputs.clear();
    spike_counts.reset();
    run_group.reset();
    std::vector<output_file> closing = std::move(files);
    files.clear();
    if (abandoned) {
        for (auto& f: closing) {
            f.file.release();
        }
        return;
    }
    for (auto& f: closing) {
        const herr_t status = H5Fclose(f.file.release());
        if (check) {
            check_status(status, f.path, "cannot close the file");
        }
    }
}

hdf5_sink::hdf5_sink(std::string path, provenance p, hdf5_options options):
    path_(std::move(path)), impl_(std::make_unique<state>()) {
    if (!(options.deflate_level >= 1 && options.deflate_level <= 9)) {
        throw glia::error(fmt::format("hdf5 output: deflate level must be in 1..9 (got {})",
                                      options.deflate_level));
    }
    if (options.spike_chunk == 0 || options.report_chunk_values == 0) {
        throw glia::error("hdf5 output: chunk sizes must be > 0");
    }
    impl_->prov = std::move(p);
    impl_->options = options;
}

hdf5_sink::~hdf5_sink() {
    if (impl_ && impl_->begun && !impl_->ended) {
        const h5::quiet_errors quiet;
        try {
            if (!impl_->abandoned) {
                impl_->flush_all();
            }
        }
        catch (...) {
            // A destructor cannot report; what was flushed before stays readable.
        }
        try {
            impl_->close_all(false);
        }
        catch (...) {
        }
    }
}

bool hdf5_sink::owns_output() const {
    return impl_->owns_main;
}

std::vector<std::string> hdf5_sink::files() const {
    return impl_->file_paths.empty() ? std::vector<std::string>{path_} : impl_->file_paths;
}

void hdf5_sink::begin(const run_layout& layout) {
    auto& s = *impl_;
    if (s.begun) {
        throw glia::internal_error("hdf5_sink::begin called twice");
    }
    if (!(layout.dt > 0)) {
        throw glia::internal_error(fmt::format("hdf5_sink: dt must be > 0 ms (got {})", layout.dt));
    }
    for (const auto& pop: layout.populations) {
        validate_name(pop.name, "population");
    }
    // The first report of a population goes into the main file, every further one into a
    // sibling file of its own (SONATA: one report per population per file). Astrocyte
    // reports are grouped by variable (/astrocytes/<population>/<variable>): the first report
    // of each (population, variable) goes into the main file.
    std::vector<std::size_t> file_of(layout.reports.size(), 0);
    std::vector<std::string> paths{path_};
    std::vector<bool> population_has_report(layout.populations.size(), false);
    std::vector<std::string> astro_paths_used;
    for (std::size_t r = 0; r < layout.reports.size(); ++r) {
        const auto& rep = layout.reports[r];
        if (rep.population >= layout.populations.size()) {
            throw glia::internal_error(
                fmt::format("hdf5_sink: report '{}' names population {} of {}", rep.name,
                            rep.population, layout.populations.size()));
        }
        if (rep.node_ids.empty()) {
            throw glia::error(fmt::format("report '{}' records no neurons", rep.name));
        }
        if (!(rep.interval_steps >= 1) || rep.start_step < 0) {
            throw glia::internal_error(
                fmt::format("hdf5_sink: report '{}' has interval {} steps from step {}", rep.name,
                            rep.interval_steps, rep.start_step));
        }
        for (std::size_t q = 0; q < r; ++q) {
            if (layout.reports[q].name == rep.name) {
                throw glia::error(fmt::format("report name '{}' is used twice", rep.name));
            }
        }
        bool taken = false;
        if (layout.populations[rep.population].emits_spikes) {
            taken = population_has_report[rep.population];
            population_has_report[rep.population] = true;
        } else {
            validate_name(rep.variable, "variable");
            const std::string where = report_group_path(layout, rep);
            taken = std::find(astro_paths_used.begin(), astro_paths_used.end(), where) !=
                    astro_paths_used.end();
            astro_paths_used.push_back(where);
        }
        if (taken) {
            validate_name(rep.name, "report");
            file_of[r] = paths.size();
            paths.push_back(sibling_report_path(path_, rep.name));
        }
    }
    if (s.options.resume) {
        check_resumable(paths, layout);
    } else if (layout.first_step != 0) {
        throw glia::internal_error("hdf5_sink: a run that starts after step 0 needs "
                                   "hdf5_options::resume");
    }
    for (const auto& p: paths) {
        check_writable(p);
    }
    s.file_paths = paths;

    s.layout = layout;
    s.begun = true;
    const h5::quiet_errors quiet;

    // File access: the oldest format (no consistency flags a crash would leave set), no file
    // lock (so that readers can look while the run goes on), and a metadata cache that writes
    // only when flushed.
    const handle fapl = plist(H5P_FILE_ACCESS, path_);
    check_status(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_EARLIEST, H5F_LIBVER_V18), path_,
                 "cannot set format bounds");
    check_status(H5Pset_file_locking(fapl.get(), false, true), path_, "cannot disable locking");
    H5AC_cache_config_t cache{};
    cache.version = H5AC__CURR_CACHE_CONFIG_VERSION;
    check_status(H5Pget_mdc_config(fapl.get(), &cache), path_, "cannot get the cache config");
    cache.evictions_enabled = false;
    cache.incr_mode = H5C_incr__off;
    cache.flash_incr_mode = H5C_flash_incr__off;
    cache.decr_mode = H5C_decr__off;
    cache.set_initial_size = true;
    cache.initial_size = 8u << 20;
    cache.max_size = std::max(cache.max_size, cache.initial_size);
    cache.min_size = std::min(cache.min_size, cache.initial_size);
    check_status(H5Pset_mdc_config(fapl.get(), &cache), path_, "cannot set the cache config");

    if (s.options.resume) {
        s.reopen(fapl.get(), file_of);
        s.owns_main = true;
        return;
    }

    // A failure before the files hold their layout (a full disk) removes what was created:
    // no half-written file is left behind.
    std::vector<std::string> created;
    try {
        create_files(paths, file_of, fapl.get(), created);
    }
    catch (const glia::error&) {
        s.close_all(false);
        for (const auto& p: created) {
            std::error_code ec;
            fs::remove(p, ec);
        }
        s.owns_main = false;
        s.begun = false;
        throw;
    }
}

void hdf5_sink::create_files(const std::vector<std::string>& paths,
                             const std::vector<std::size_t>& file_of, std::int64_t fapl,
                             std::vector<std::string>& created) {
    auto& s = *impl_;
    const run_layout& layout = s.layout;
    std::vector<std::string> report_files(layout.reports.size());
    for (const auto& p: paths) {
        output_file f;
        f.path = p;
        f.file = handle{check_id(H5Fcreate(p.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl), p,
                                 "cannot create the file"),
                        H5Fclose};
        created.push_back(p);
        s.owns_main = true;  // the main file is the first
        write_root_attributes(f.file.get(), p);
        s.files.push_back(std::move(f));
    }
    for (std::size_t r = 0; r < layout.reports.size(); ++r) {
        report_files[r] = fs::path(paths[file_of[r]]).filename().string();
    }

    const hid_t main_id = s.files.front().file.get();
    s.create_spikes(main_id, path_);
    for (std::size_t p = 0; p < layout.populations.size(); ++p) {
        s.first_gids.emplace_back(layout.populations[p].first_gid, p);
    }
    std::sort(s.first_gids.begin(), s.first_gids.end());
    for (std::size_t r = 0; r < layout.reports.size(); ++r) {
        s.create_report(r, file_of[r]);
    }
    s.create_weights(main_id, path_);
    s.create_run(main_id, path_, report_files);
    s.flush_all();
}

void hdf5_sink::weights(std::size_t recorder, std::size_t snapshot, std::span<const double> values) {
    auto& s = *impl_;
    if (!s.begun || s.ended) {
        throw glia::internal_error("hdf5_sink::weights outside begin()..end()");
    }
    if (recorder >= s.weight_outputs.size()) {
        throw glia::internal_error(fmt::format("hdf5_sink: weights of recorder {} of {}", recorder,
                                               s.weight_outputs.size()));
    }
    auto& out = s.weight_outputs[recorder];
    const auto& wl = s.layout.weights[recorder];
    if (snapshot != out.snapshots || snapshot >= wl.steps.size() || values.size() != out.width) {
        throw glia::internal_error(fmt::format("hdf5_sink: weight snapshot {} of '{}' with {} "
                                               "values (expected snapshot {}, {} values)",
                                               snapshot, wl.projection, values.size(),
                                               out.snapshots, out.width));
    }
    const double t = static_cast<double>(wl.steps[snapshot]) * s.layout.dt;
    out.time->append(&t, 1);
    std::vector<float> row(std::max<std::size_t>(1, values.size()));
    std::copy(values.begin(), values.end(), row.begin());
    out.weight->append(row.data(), 1);
    ++out.snapshots;
    s.unwritten_bytes += row.size() * sizeof(float) + sizeof(double);
    if (s.unwritten_bytes > s.options.buffer_bytes) {
        const h5::quiet_errors quiet;
        s.write_out();
    }
}

void hdf5_sink::spikes(std::span<const spike_event> batch) {
    auto& s = *impl_;
    if (!s.begun || s.ended) {
        throw glia::internal_error("hdf5_sink::spikes outside begin()..end()");
    }
    const h5::quiet_errors quiet;
    for (const auto& ev: batch) {
        auto it = std::upper_bound(s.first_gids.begin(), s.first_gids.end(), ev.gid,
                                   [](neuron_id gid, const std::pair<neuron_id, std::size_t>& e) {
                                       return gid < e.first;
                                   });
        const bool found = it != s.first_gids.begin();
        const std::size_t p = found ? std::prev(it)->second : 0;
        const auto& pop = s.layout.populations[found ? p : 0];
        if (!found || ev.gid - pop.first_gid >= pop.size) {
            throw glia::internal_error(
                fmt::format("hdf5_sink: spike of gid {}, in no population", ev.gid));
        }
        const std::ptrdiff_t o = s.spike_output_of[p];
        if (o < 0) {
            throw glia::internal_error(fmt::format(
                "hdf5_sink: spike of gid {} of population '{}', whose spikes are not recorded",
                ev.gid, pop.name));
        }
        auto& out = s.spike_outputs[static_cast<std::size_t>(o)];
        if (ev.step < out.last_step) {
            throw glia::internal_error(
                fmt::format("hdf5_sink: spikes out of time order in '{}' (step {} after {})",
                            pop.name, ev.step, out.last_step));
        }
        out.last_step = ev.step;
        out.stage_times.push_back(static_cast<double>(ev.step + 1) * s.layout.dt);
        out.stage_ids.push_back(ev.gid - pop.first_gid);
    }
    for (auto& out: s.spike_outputs) {
        if (!out.stage_times.empty()) {
            out.timestamps->append(out.stage_times.data(), out.stage_times.size());
            out.node_ids->append(out.stage_ids.data(), out.stage_ids.size());
            s.unwritten_bytes += out.stage_times.size() * (sizeof(double) + sizeof(std::uint64_t));
            out.stage_times.clear();
            out.stage_ids.clear();
        }
    }
    if (s.unwritten_bytes > s.options.buffer_bytes) {
        s.write_out();
    }
}

void hdf5_sink::frames(std::size_t report, std::size_t first_frame, std::size_t n_frames,
                       std::span<const float> data) {
    auto& s = *impl_;
    if (!s.begun || s.ended) {
        throw glia::internal_error("hdf5_sink::frames outside begin()..end()");
    }
    if (report >= s.reports.size()) {
        throw glia::internal_error(
            fmt::format("hdf5_sink: frames of report {} of {}", report, s.reports.size()));
    }
    auto& rep = s.reports[report];
    if (first_frame != rep.frames) {
        throw glia::internal_error(fmt::format("hdf5_sink: report '{}' got frames from {}, "
                                               "expected {} (frames must be appended in order)",
                                               s.layout.reports[report].name, first_frame,
                                               rep.frames));
    }
    if (data.size() != n_frames * rep.width) {
        throw glia::internal_error(
            fmt::format("hdf5_sink: report '{}' got {} values for {} frames of {} nodes",
                        s.layout.reports[report].name, data.size(), n_frames, rep.width));
    }
    rep.data->append(data.data(), n_frames);
    rep.frames += n_frames;
    s.unwritten_bytes += data.size_bytes();
    if (s.unwritten_bytes > s.options.buffer_bytes) {
        const h5::quiet_errors quiet;
        s.write_out();
    }
}

void hdf5_sink::flush() {
    auto& s = *impl_;
    if (!s.begun || s.ended) {
        return;
    }
    const h5::quiet_errors quiet;
    s.flush_all();
}

void hdf5_sink::end(const run_summary& summary) {
    auto& s = *impl_;
    if (!s.begun || s.ended) {
        throw glia::internal_error("hdf5_sink::end outside begin()..end()");
    }
    const std::size_t n_pops = s.layout.populations.size();
    if (summary.spike_counts.size() != n_pops) {
        throw glia::internal_error(fmt::format("hdf5_sink: {} spike counts for {} populations",
                                               summary.spike_counts.size(), n_pops));
    }
    const h5::quiet_errors quiet;
    try {
        s.end_unguarded(summary);
    }
    catch (const glia::error&) {
        s.abandoned = true;
        throw;
    }
    s.ended = true;
    s.close_all(true);
}

void hdf5_sink::state::end_unguarded(const run_summary& summary) {
    auto& s = *this;
    const std::size_t n_pops = s.layout.populations.size();
    s.write_out();
    // The summary overwrites its placeholders and is flushed; then the status, alone, in its
    // own flush: the status is what says the summary is valid.
    const hid_t g = s.run_group.get();
    const std::string& file = s.main_path();
    const std::int64_t steps_done = summary.steps_done;
    const std::uint64_t counts[] = {summary.n_neurons, summary.n_synapses, summary.synaptic_events};
    overwrite_attribute(g, "steps_done", H5T_NATIVE_INT64, &steps_done, file);
    overwrite_attribute(g, "wall_seconds", H5T_NATIVE_DOUBLE, &summary.wall_seconds, file);
    overwrite_attribute(g, "build_seconds", H5T_NATIVE_DOUBLE, &summary.build_seconds, file);
    overwrite_attribute(g, "n_neurons", H5T_NATIVE_UINT64, &counts[0], file);
    overwrite_attribute(g, "n_synapses", H5T_NATIVE_UINT64, &counts[1], file);
    overwrite_attribute(g, "synaptic_events", H5T_NATIVE_UINT64, &counts[2], file);
    if (n_pops > 0) {
        check_status(H5Dwrite(s.spike_counts.get(), H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL,
                              H5P_DEFAULT, summary.spike_counts.data()),
                     file, "cannot write /run/spike_counts");
    }
    s.flush_files();
    write_status(g, summary.status == run_status::completed ? "complete" : "interrupted", file,
                 false);
    s.flush_all();
}

std::string sibling_report_path(const std::string& path, const std::string& report_name) {
    std::string stem = path;
    if (stem.size() >= 3 && stem.compare(stem.size() - 3, 3, ".h5") == 0) {
        stem.resize(stem.size() - 3);
    }
    return stem + "." + report_name + ".h5";
}

hdf5_library_guard::hdf5_library_guard() {
    H5dont_atexit();
}

hdf5_library_guard::~hdf5_library_guard() {
    if (h5::files_left_open() == 0) {
        H5close();
    }
}

bool mark_run_failed(const std::string& path, const std::string& message) {
    const h5::quiet_errors quiet;
    // A file HDF5 could not close (a full disk) cannot be opened again in this process.
    if (h5::files_left_open() > 0 || H5Fis_hdf5(path.c_str()) <= 0) {
        return false;
    }
    const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, h5::unlocked_access().get());
    if (f < 0) {
        return false;
    }
    handle file{f, H5Fclose};
    if (H5Lexists(f, "run", H5P_DEFAULT) <= 0) {
        return false;
    }
    // The status first: it is overwritten in place, so it fits even where the file cannot
    // grow (a full disk); then the message, which may not.
    try {
        const handle run{check_id(H5Gopen2(f, "run", H5P_DEFAULT), path, "cannot open /run"),
                         H5Gclose};
        write_status(run.get(), "failed", path, H5Aexists(run.get(), "status") <= 0);
        if (H5Fflush(f, H5F_SCOPE_GLOBAL) < 0) {
            return false;
        }
        write_string_attribute(run.get(), "error", printable(message), path);
        H5Fflush(f, H5F_SCOPE_GLOBAL);
    }
    catch (const glia::error&) {  // the run's own error is the one to report
        return false;
    }
    return H5Fclose(file.release()) >= 0;
}

void check_writable(const std::string& path) {
    const auto fail_with = [&](const std::string& reason) {
        throw glia::error(fmt::format("cannot write output file '{}': {}", path, reason));
    };
    if (path.empty()) {
        fail_with("the path is empty");
    }
    const fs::path file(path);
    if (!file.has_filename()) {
        fail_with("the path names a directory, not a file");
    }
    // Name lengths first: nothing (no parent directory) is created for a path that cannot be.
    for (const auto& part: file) {
        if (part.native().size() > NAME_MAX) {
            fail_with(fmt::format("the name '{}...' is {} bytes long; file names are at most {} "
                                  "bytes",
                                  part.native().substr(0, 24), part.native().size(), NAME_MAX));
        }
    }
    if (path.size() >= PATH_MAX) {
        fail_with(fmt::format("the path is {} bytes long; paths are shorter than {} bytes",
                              path.size(), PATH_MAX));
    }
    fs::path dir = file.parent_path();
    if (dir.empty()) {
        dir = ".";
    }
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
        // The nearest existing ancestor must be a directory we can create the rest in.
        fs::path existing = dir;
        while (!existing.empty() && !fs::exists(existing, ec) &&
               existing != existing.parent_path()) {
            existing = existing.parent_path();
        }
        if (!existing.empty() && fs::exists(existing, ec) && !fs::is_directory(existing, ec)) {
            fail_with(fmt::format("'{}' is not a directory", existing.string()));
        }
        fs::create_directories(dir, ec);
        if (ec) {
            fail_with(fmt::format("cannot create directory '{}': {}", dir.string(), ec.message()));
        }
    }
    const auto status = fs::status(file, ec);
    if (fs::exists(status)) {
        if (fs::is_directory(status)) {
            fail_with("it is a directory");
        }
        if (!fs::is_regular_file(status)) {
            fail_with("it exists and is not a regular file");
        }
        if (::access(path.c_str(), W_OK) != 0) {
            fail_with(fmt::format("the existing file is not writable ({})", errno_text(errno)));
        }
    }
    // Can a file be created in `dir`? An unnamed temporary file answers without leaving one
    // behind; where the file system has no O_TMPFILE, a named one, removed at once.
    int fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
        std::string probe = (dir / ".glia-write-test-XXXXXX").string();
        fd = ::mkstemp(probe.data());
        if (fd >= 0) {
            ::unlink(probe.c_str());
        }
    }
    if (fd < 0) {
        fail_with(fmt::format("directory '{}' does not accept new files ({})", dir.string(),
                              errno_text(errno)));
    }
    ::close(fd);
}

}  // namespace glia::io
