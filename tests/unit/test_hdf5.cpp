// The HDF5 (SONATA) writer and reader, `inspect`, the asynchronous writer and the signal
// watcher. Files are written from hand-made layouts, spikes and frames, read back with our
// reader, checked with the HDF5 C API (types, shapes, attributes), read with h5py
// (tests/integration/read_back.py), and written by processes killed with SIGKILL.

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <new>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <hdf5.h>

#include <glia/error.hpp>
#include <glia/recording.hpp>
#include <glia/rng.hpp>

#include "io/hdf5_handle.hpp"
#include "io/hdf5_reader.hpp"
#include "io/hdf5_writer.hpp"
#include "io/inspect.hpp"
#include "runtime/async_sink.hpp"
#include "runtime/signals.hpp"

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using glia::io::h5::handle;
using testing::HasSubstr;

// ---------------------------------------------------------------------------------------
// Fixtures: a scratch directory, a hand-made run, and a way to feed it to a sink.

class scratch_dir {
public:
    scratch_dir() {
        const auto* info = testing::UnitTest::GetInstance()->current_test_info();
        path_ = fs::temp_directory_path() / fmt::format("glia_test_hdf5_{}_{}_{}", ::getpid(),
                                                        info->test_suite_name(), info->name());
        fs::remove_all(path_);
        fs::create_directories(path_);
    }
    ~scratch_dir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    std::string file(const std::string& name) const { return (path_ / name).string(); }
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

struct run_data {
    glia::run_layout layout;
    std::vector<glia::spike_event> spikes;   // (step, gid) order
    std::vector<std::vector<float>> frames;  // per report, frame-major
    glia::run_summary summary;
};

constexpr double dt = 0.1;  // [ms]

float frame_value(std::size_t report, std::size_t frame, std::size_t node) {
    return static_cast<float>(
        -65.0 + 10.0 * std::sin(0.01 * static_cast<double>(frame) + static_cast<double>(node)) +
        static_cast<double>(report));
}

// Three populations (exc and inh recorded, src not) and three reports, two of them of exc
// (the second goes to a sibling file).
run_data make_run(glia::step_t n_steps = 1000) {
    run_data d;
    auto& l = d.layout;
    l.dt = dt;
    l.n_steps = n_steps;
    l.seed = 42;
    l.populations = {{"exc", "iaf_psc_exp", 0, 80, true},
                     {"inh", "iaf_psc_exp", 80, 20, true},
                     {"src", "poisson_source", 100, 10, false}};
    glia::report_layout v_exc{"v_exc", 0, "V_m", "mV", {0, 3, 7, 11, 79}, 0, 10, 0};
    glia::report_layout i_exc{"i_exc", 0, "I_syn", "pA", {1, 2}, 5, 20, 0};
    glia::report_layout v_inh{"v_inh", 1, "V_m", "mV", {}, 0, 3, 0};
    for (glia::neuron_id i = 0; i < 20; ++i) {
        v_inh.node_ids.push_back(i);
    }
    l.reports = {v_exc, i_exc, v_inh};
    for (std::size_t r = 0; r < l.reports.size(); ++r) {
        auto& rep = l.reports[r];
        rep.n_frames = static_cast<std::size_t>(
            (n_steps - rep.start_step + rep.interval_steps - 1) / rep.interval_steps);
        auto& values = d.frames.emplace_back();
        for (std::size_t j = 0; j < rep.n_frames; ++j) {
            for (std::size_t k = 0; k < rep.node_ids.size(); ++k) {
                values.push_back(frame_value(r, j, k));
            }
        }
    }
    d.summary.spike_counts = {0, 0, 123};
    for (glia::step_t step = 0; step < n_steps; ++step) {
        for (glia::neuron_id gid = 0; gid < 100; ++gid) {
            glia::rng_stream rng(glia::stream_key(7, glia::stream::source_spikes), gid,
                                 static_cast<std::uint64_t>(step));
            if (rng.uniform() < 0.01) {
                d.spikes.push_back({step, gid});
                ++d.summary.spike_counts[gid < 80 ? 0 : 1];
            }
        }
    }
    d.summary.status = glia::run_status::completed;
    d.summary.steps_done = n_steps;
    d.summary.wall_seconds = 1.25;
    d.summary.build_seconds = 0.5;
    d.summary.synaptic_events = 98765;
    d.summary.n_neurons = 110;
    d.summary.n_synapses = 4321;
    return d;
}

glia::io::provenance make_provenance() {
    glia::io::provenance p;
    p.config_text = "run:\n  dt: 0.1\n  duration: 100\n";
    p.source_path = "configs/test.yaml";
    p.version = "0.1.0";
    p.git_hash = "abcdef123456";
    p.host = "testhost";
    p.command_line = "glia run configs/test.yaml";
    p.started = "2024-05-06T07:08:09+02:00";
    p.seed = 42;
    p.duration_ms = 100.0;
    return p;
}

// Small chunks: many chunks, partial chunks at flushes, report rows over several chunks.
glia::io::hdf5_options small_chunks() {
    glia::io::hdf5_options o;
    o.spike_chunk = 64;
    o.report_chunk_values = 8;
    o.deflate_level = 4;
    return o;
}

// Feeds `d` to `sink` epoch by epoch as the engine would, flushing every `flush_every`
// epochs; stops after step `stop_after` (interrupted) if given.
void feed(glia::recording_sink& sink, const run_data& d, glia::step_t epoch = 37,
          int flush_every = 3, glia::step_t stop_after = -1) {
    const auto& l = d.layout;
    sink.begin(l);
    std::size_t next_spike = 0;
    std::vector<std::size_t> next_frame(l.reports.size(), 0);
    const glia::step_t end_step = stop_after >= 0 ? stop_after : l.n_steps;
    int epochs = 0;
    for (glia::step_t t0 = 0; t0 < end_step; t0 += epoch) {
        const glia::step_t t1 = std::min(t0 + epoch, end_step);
        std::size_t first = next_spike;
        while (next_spike < d.spikes.size() && d.spikes[next_spike].step < t1) {
            ++next_spike;
        }
        sink.spikes(std::span(d.spikes).subspan(first, next_spike - first));
        for (std::size_t r = 0; r < l.reports.size(); ++r) {
            const auto& rep = l.reports[r];
            std::size_t j = next_frame[r];
            while (j < rep.n_frames &&
                   rep.start_step + static_cast<glia::step_t>(j) * rep.interval_steps < t1) {
                ++j;
            }
            if (j > next_frame[r]) {
                const std::size_t w = rep.node_ids.size();
                sink.frames(
                    r, next_frame[r], j - next_frame[r],
                    std::span(d.frames[r]).subspan(next_frame[r] * w, (j - next_frame[r]) * w));
                next_frame[r] = j;
            }
        }
        if (++epochs % flush_every == 0) {
            sink.flush();
        }
    }
    glia::run_summary s = d.summary;
    if (stop_after >= 0) {
        s.status = glia::run_status::interrupted;
        s.steps_done = stop_after;
    }
    sink.end(s);
}

// What read_spikes must return for population p of `d` (spikes before step `until`).
glia::io::spike_data
expected_spikes(const run_data& d, std::size_t p,
                glia::step_t until = std::numeric_limits<glia::step_t>::max()) {
    const auto& pop = d.layout.populations[p];
    glia::io::spike_data out;
    for (const auto& s: d.spikes) {
        if (s.step < until && s.gid >= pop.first_gid && s.gid < pop.first_gid + pop.size) {
            out.timestamps.push_back(static_cast<double>(s.step + 1) * dt);
            out.node_ids.push_back(s.gid - pop.first_gid);
        }
    }
    return out;
}

std::size_t frames_before(const glia::report_layout& rep, glia::step_t until) {
    std::size_t j = 0;
    while (j < rep.n_frames &&
           rep.start_step + static_cast<glia::step_t>(j) * rep.interval_steps < until) {
        ++j;
    }
    return j;
}

// Checks every spike, frame and /run field of a file written from `d` by feed().
void expect_file_matches(const std::string& path, const run_data& d, glia::step_t stop_after = -1) {
    const glia::step_t until = stop_after >= 0 ? stop_after : d.layout.n_steps;
    EXPECT_THAT(glia::io::list_spike_populations(path), testing::ElementsAre("exc", "inh"));
    for (std::size_t p = 0; p < 2; ++p) {
        const auto got = glia::io::read_spikes(path, d.layout.populations[p].name);
        const auto want = expected_spikes(d, p, until);
        ASSERT_FALSE(want.timestamps.empty());
        EXPECT_EQ(got.timestamps, want.timestamps) << "population " << p;
        EXPECT_EQ(got.node_ids, want.node_ids) << "population " << p;
        EXPECT_EQ(got.sorting, "by_time");
    }
    const std::string sibling = glia::io::sibling_report_path(path, "i_exc");
    const std::vector<std::pair<std::string, std::string>> where = {
        {path, "exc"}, {sibling, "exc"}, {path, "inh"}};
    for (std::size_t r = 0; r < 3; ++r) {
        const auto& rep = d.layout.reports[r];
        const auto got = glia::io::read_report(where[r].first, where[r].second);
        const std::size_t n = frames_before(rep, until);
        ASSERT_GT(n, 0u);
        EXPECT_EQ(got.n_frames, n) << rep.name;
        const std::vector<float> want(d.frames[r].begin(),
                                      d.frames[r].begin() +
                                          static_cast<std::ptrdiff_t>(n * rep.node_ids.size()));
        EXPECT_EQ(got.data, want) << rep.name;
        EXPECT_EQ(got.node_ids,
                  std::vector<std::uint64_t>(rep.node_ids.begin(), rep.node_ids.end()));
        EXPECT_EQ(got.t_start, static_cast<double>(rep.start_step) * dt);
        EXPECT_EQ(got.dt, static_cast<double>(rep.interval_steps) * dt);
        EXPECT_EQ(got.t_stop, got.t_start + static_cast<double>(n) * got.dt);
        EXPECT_EQ(got.units, rep.unit);
        EXPECT_EQ(got.variable, rep.variable);
    }
}

// ---------------------------------------------------------------------------------------
// Helpers for the HDF5 C API checks and for running h5py.

handle open_file(const std::string& path) {
    return {H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose};
}

handle open_dataset(hid_t file, const std::string& name) {
    return {H5Dopen2(file, name.c_str(), H5P_DEFAULT), H5Dclose};
}

handle open_attr(hid_t obj, const std::string& name) {
    return {H5Aopen(obj, name.c_str(), H5P_DEFAULT), H5Aclose};
}

std::vector<hsize_t> shape(hid_t dset, std::vector<hsize_t>* maxdims = nullptr) {
    const handle space{H5Dget_space(dset), H5Sclose};
    std::vector<hsize_t> d(static_cast<std::size_t>(H5Sget_simple_extent_ndims(space.get())));
    std::vector<hsize_t> m(d.size());
    H5Sget_simple_extent_dims(space.get(), d.data(), m.data());
    if (maxdims != nullptr) {
        *maxdims = m;
    }
    return d;
}

bool has_type(hid_t obj_type, hid_t expected) {
    return H5Tequal(obj_type, expected) > 0;
}

bool dataset_type_is(hid_t dset, hid_t expected) {
    const handle t{H5Dget_type(dset), H5Tclose};
    return has_type(t.get(), expected);
}

// A scalar variable-length string attribute; "<not a VL string>" otherwise.
std::string vl_string_attr(hid_t obj, const std::string& name) {
    const handle attr = open_attr(obj, name);
    if (!attr.valid()) {
        return "<missing>";
    }
    const handle type{H5Aget_type(attr.get()), H5Tclose};
    if (H5Tget_class(type.get()) != H5T_STRING || H5Tis_variable_str(type.get()) <= 0) {
        return "<not a VL string>";
    }
    char* text = nullptr;
    H5Aread(attr.get(), type.get(), &text);
    std::string out = text;
    H5free_memory(text);
    return out;
}

template <typename T>
T scalar_attr(hid_t obj, const std::string& name, hid_t file_type, hid_t mem_type) {
    const handle attr = open_attr(obj, name);
    EXPECT_TRUE(attr.valid()) << name;
    const handle type{H5Aget_type(attr.get()), H5Tclose};
    EXPECT_TRUE(has_type(type.get(), file_type)) << name;
    T value{};
    H5Aread(attr.get(), mem_type, &value);
    return value;
}

bool python_has_h5py() {
    return std::system("/usr/bin/python3 -c 'import h5py' >/dev/null 2>&1") == 0;
}

std::string read_back_script() {
    return std::string(GLIA_SOURCE_DIR) + "/tests/integration/read_back.py";
}

// Runs read_back.py on `path`; returns its stdout, sets `status` to its exit status.
std::string run_read_back(const std::string& path, int& status) {
    const std::string cmd = "/usr/bin/python3 " + read_back_script() + " '" + path + "' 2>&1";
    FILE* pipe = ::popen(cmd.c_str(), "r");
    std::string out;
    char buffer[4096];
    std::size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
        out.append(buffer, n);
    }
    status = ::pclose(pipe);
    return out;
}

struct read_back_output {
    std::map<std::string, std::string> spike_header;  // population -> header line
    std::map<std::string, glia::io::spike_data> spikes;
    std::map<std::string, std::string> report_header;
    std::map<std::string, std::vector<double>> report_time;
    std::map<std::string, std::vector<std::vector<double>>> frames;
    std::string run_line;
    std::string magic_line, version_line;
};

read_back_output parse_read_back(const std::string& text) {
    read_back_output out;
    std::istringstream in(text);
    std::string line, spike_pop, report_pop;
    while (std::getline(in, line)) {
        std::istringstream words(line);
        std::string first;
        words >> first;
        if (first == "magic") {
            out.magic_line = line;
        } else if (first == "version") {
            out.version_line = line;
        } else if (first == "spikes") {
            words >> spike_pop;
            out.spike_header[spike_pop] = line;
            out.spikes[spike_pop];
            report_pop.clear();
        } else if (first == "report") {
            words >> report_pop;
            out.report_header[report_pop] = line;
            spike_pop.clear();
        } else if (first == "time") {
            std::string w;
            while (words >> w && w.rfind("units=", 0) != 0) {
                out.report_time[report_pop].push_back(std::strtod(w.c_str(), nullptr));
            }
        } else if (first == "frame") {
            auto& row = out.frames[report_pop].emplace_back();
            std::string w;
            while (words >> w) {
                row.push_back(std::strtod(w.c_str(), nullptr));
            }
        } else if (first == "run") {
            out.run_line = line;
        } else if (!spike_pop.empty() && !first.empty() && first != "node_ids" &&
                   first != "index_pointers" && first != "element_ids") {
            std::uint64_t id = 0;
            words >> id;
            out.spikes[spike_pop].timestamps.push_back(std::strtod(first.c_str(), nullptr));
            out.spikes[spike_pop].node_ids.push_back(id);
        }
    }
    return out;
}

// ---------------------------------------------------------------------------------------
// Writing and reading back.

TEST(hdf5_sink, round_trips_spikes_reports_and_run_record) {
    const scratch_dir dir;
    const std::string path = dir.file("out.h5");
    const run_data d = make_run();
    {
        glia::io::hdf5_sink sink(path, make_provenance(), small_chunks());
        feed(sink, d);
        EXPECT_THAT(sink.files(),
                    testing::ElementsAre(path, glia::io::sibling_report_path(path, "i_exc")));
    }
    expect_file_matches(path, d);

    const auto info = glia::io::read_run_info(path);
    const auto p = make_provenance();
    EXPECT_EQ(info.status, "complete");
    EXPECT_EQ(info.config, p.config_text);
    EXPECT_EQ(info.source_path, p.source_path);
    EXPECT_EQ(info.version, p.version);
    EXPECT_EQ(info.git_hash, p.git_hash);
    EXPECT_EQ(info.host, p.host);
    EXPECT_EQ(info.command_line, p.command_line);
    EXPECT_EQ(info.started, p.started);
    EXPECT_EQ(info.seed, d.layout.seed);
    EXPECT_EQ(info.dt, dt);
    EXPECT_EQ(info.duration, p.duration_ms);
    EXPECT_EQ(info.n_steps, d.layout.n_steps);
    ASSERT_TRUE(info.has_summary);
    EXPECT_EQ(info.steps_done, d.summary.steps_done);
    EXPECT_EQ(info.wall_seconds, d.summary.wall_seconds);
    EXPECT_EQ(info.build_seconds, d.summary.build_seconds);
    EXPECT_EQ(info.n_neurons, d.summary.n_neurons);
    EXPECT_EQ(info.n_synapses, d.summary.n_synapses);
    EXPECT_EQ(info.synaptic_events, d.summary.synaptic_events);
    ASSERT_EQ(info.populations.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) {
        const auto& want = d.layout.populations[i];
        const auto& got = info.populations[i];
        EXPECT_EQ(got.name, want.name);
        EXPECT_EQ(got.model, want.model);
        EXPECT_EQ(got.first_gid, want.first_gid);
        EXPECT_EQ(got.size, want.size);
        EXPECT_EQ(got.spikes_recorded, want.spikes_recorded);
        EXPECT_TRUE(got.has_spike_count);
        EXPECT_EQ(got.spike_count, d.summary.spike_counts[i]);
    }
    ASSERT_EQ(info.reports.size(), 3u);
    const std::string sibling_name =
        fs::path(glia::io::sibling_report_path(path, "i_exc")).filename();
    const std::vector<std::string> files = {"out.h5", sibling_name, "out.h5"};
    for (std::size_t r = 0; r < 3; ++r) {
        const auto& want = d.layout.reports[r];
        EXPECT_EQ(info.reports[r].name, want.name);
        EXPECT_EQ(info.reports[r].population, d.layout.populations[want.population].name);
        EXPECT_EQ(info.reports[r].variable, want.variable);
        EXPECT_EQ(info.reports[r].unit, want.unit);
        EXPECT_EQ(info.reports[r].file, files[r]);
        EXPECT_EQ(info.reports[r].path, "/report/" + d.layout.populations[want.population].name);
    }
}

TEST(hdf5_sink, round_trips_with_default_chunks_and_one_flush) {
    const scratch_dir dir;
    const std::string path = dir.file("nested/dirs/out.h5");  // parents are created
    const run_data d = make_run();
    glia::io::hdf5_sink sink(path, make_provenance());
    feed(sink, d, 1000, 1000);
    expect_file_matches(path, d);
}

TEST(hdf5_sink, writes_sonata_types_shapes_and_attributes) {
    const scratch_dir dir;
    const std::string path = dir.file("out.h5");
    const run_data d = make_run();
    {
        glia::io::hdf5_sink sink(path, make_provenance(), small_chunks());
        feed(sink, d);
    }
    const handle file = open_file(path);
    ASSERT_TRUE(file.valid());

    // Root: magic uint32 scalar 0x0A7A, version uint32[2] {0, 1}.
    EXPECT_EQ(scalar_attr<std::uint32_t>(file.get(), "magic", H5T_STD_U32LE, H5T_NATIVE_UINT32),
              0x0A7Au);
    {
        const handle version = open_attr(file.get(), "version");
        const handle type{H5Aget_type(version.get()), H5Tclose};
        EXPECT_TRUE(has_type(type.get(), H5T_STD_U32LE));
        const handle space{H5Aget_space(version.get()), H5Sclose};
        EXPECT_EQ(H5Sget_simple_extent_npoints(space.get()), 2);
        std::uint32_t v[2] = {9, 9};
        H5Aread(version.get(), H5T_NATIVE_UINT32, v);
        EXPECT_EQ(v[0], 0u);
        EXPECT_EQ(v[1], 1u);
    }

    // Spikes: only recorded populations, sorting enum {none, by_id, by_time} = by_time.
    EXPECT_GT(H5Lexists(file.get(), "/spikes/exc", H5P_DEFAULT), 0);
    EXPECT_GT(H5Lexists(file.get(), "/spikes/inh", H5P_DEFAULT), 0);
    EXPECT_EQ(H5Lexists(file.get(), "/spikes/src", H5P_DEFAULT), 0);
    for (const std::string pop: {"exc", "inh"}) {
        const handle group{H5Gopen2(file.get(), ("/spikes/" + pop).c_str(), H5P_DEFAULT), H5Gclose};
        const handle sorting = open_attr(group.get(), "sorting");
        const handle type{H5Aget_type(sorting.get()), H5Tclose};
        ASSERT_EQ(H5Tget_class(type.get()), H5T_ENUM);
        const handle base{H5Tget_super(type.get()), H5Tclose};
        EXPECT_TRUE(has_type(base.get(), H5T_STD_U8LE));
        ASSERT_EQ(H5Tget_nmembers(type.get()), 3);
        std::map<std::string, int> members;
        for (unsigned i = 0; i < 3; ++i) {
            char* name = H5Tget_member_name(type.get(), i);
            std::uint8_t value = 0;
            H5Tget_member_value(type.get(), i, &value);
            members[name] = value;
            H5free_memory(name);
        }
        EXPECT_EQ(members, (std::map<std::string, int>{{"none", 0}, {"by_id", 1}, {"by_time", 2}}));
        std::uint8_t value = 0;
        H5Aread(sorting.get(), type.get(), &value);
        EXPECT_EQ(value, 2);

        const handle ts = open_dataset(group.get(), "timestamps");
        const handle ids = open_dataset(group.get(), "node_ids");
        EXPECT_TRUE(dataset_type_is(ts.get(), H5T_IEEE_F64LE));
        EXPECT_TRUE(dataset_type_is(ids.get(), H5T_STD_U64LE));
        EXPECT_EQ(vl_string_attr(ts.get(), "units"), "ms");
        const auto n = expected_spikes(d, pop == "exc" ? 0 : 1).timestamps.size();
        for (hid_t dset: {ts.get(), ids.get()}) {
            std::vector<hsize_t> maxdims;
            EXPECT_EQ(shape(dset, &maxdims), std::vector<hsize_t>{n});
            EXPECT_EQ(maxdims, std::vector<hsize_t>{H5S_UNLIMITED});
            const handle dcpl{H5Dget_create_plist(dset), H5Pclose};
            EXPECT_EQ(H5Pget_layout(dcpl.get()), H5D_CHUNKED);
            ASSERT_EQ(H5Pget_nfilters(dcpl.get()), 2);
            for (unsigned i = 0; i < 2; ++i) {
                unsigned flags = 0;
                unsigned values[4] = {};
                std::size_t n_values = 4;
                EXPECT_EQ(
                    H5Pget_filter2(dcpl.get(), i, &flags, &n_values, values, 0, nullptr, nullptr),
                    i == 0 ? H5Z_FILTER_SHUFFLE : H5Z_FILTER_DEFLATE);
            }
        }
    }

    // Reports: data float32 (frames, nodes) chunked and extendable along time; mapping.
    const std::string sibling = glia::io::sibling_report_path(path, "i_exc");
    const std::vector<std::pair<std::string, std::string>> where = {
        {path, "exc"}, {sibling, "exc"}, {path, "inh"}};
    for (std::size_t r = 0; r < 3; ++r) {
        const auto& rep = d.layout.reports[r];
        const handle f = open_file(where[r].first);
        ASSERT_TRUE(f.valid());
        EXPECT_EQ(scalar_attr<std::uint32_t>(f.get(), "magic", H5T_STD_U32LE, H5T_NATIVE_UINT32),
                  0x0A7Au);
        const std::string base = "/report/" + where[r].second;
        const handle data = open_dataset(f.get(), base + "/data");
        EXPECT_TRUE(dataset_type_is(data.get(), H5T_IEEE_F32LE));
        std::vector<hsize_t> maxdims;
        EXPECT_EQ(shape(data.get(), &maxdims),
                  (std::vector<hsize_t>{rep.n_frames, rep.node_ids.size()}));
        EXPECT_EQ(maxdims, (std::vector<hsize_t>{H5S_UNLIMITED, rep.node_ids.size()}));
        EXPECT_EQ(vl_string_attr(data.get(), "units"), rep.unit);
        EXPECT_EQ(vl_string_attr(data.get(), "variable"), rep.variable);

        const handle ids = open_dataset(f.get(), base + "/mapping/node_ids");
        const handle pointers = open_dataset(f.get(), base + "/mapping/index_pointers");
        const handle elements = open_dataset(f.get(), base + "/mapping/element_ids");
        const handle time = open_dataset(f.get(), base + "/mapping/time");
        EXPECT_TRUE(dataset_type_is(ids.get(), H5T_STD_U64LE));
        EXPECT_TRUE(dataset_type_is(pointers.get(), H5T_STD_U64LE));
        EXPECT_TRUE(dataset_type_is(elements.get(), H5T_STD_U32LE));
        EXPECT_TRUE(dataset_type_is(time.get(), H5T_IEEE_F64LE));
        const std::size_t n = rep.node_ids.size();
        EXPECT_EQ(shape(ids.get()), std::vector<hsize_t>{n});
        EXPECT_EQ(shape(pointers.get()), std::vector<hsize_t>{n + 1});
        EXPECT_EQ(shape(elements.get()), std::vector<hsize_t>{n});
        EXPECT_EQ(shape(time.get()), std::vector<hsize_t>{3});
        std::vector<std::uint64_t> p(n + 1);
        H5Dread(pointers.get(), H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, p.data());
        for (std::size_t i = 0; i <= n; ++i) {
            EXPECT_EQ(p[i], i);
        }
        std::vector<std::uint32_t> e(n, 7);
        H5Dread(elements.get(), H5T_NATIVE_UINT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, e.data());
        EXPECT_EQ(e, std::vector<std::uint32_t>(n, 0));
        double t[3] = {};
        H5Dread(time.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, t);
        const double t_start = static_cast<double>(rep.start_step) * dt;
        const double dt_report = static_cast<double>(rep.interval_steps) * dt;
        EXPECT_EQ(t[0], t_start);
        EXPECT_EQ(t[1], t_start + static_cast<double>(rep.n_frames) * dt_report);
        EXPECT_EQ(t[2], dt_report);
        EXPECT_EQ(vl_string_attr(time.get(), "units"), "ms");
    }
    // The sibling file holds only its report: SONATA allows one report per population.
    {
        const handle f = open_file(sibling);
        EXPECT_EQ(H5Lexists(f.get(), "/spikes", H5P_DEFAULT), 0);
        EXPECT_EQ(H5Lexists(f.get(), "/run", H5P_DEFAULT), 0);
    }

    // /run: attributes with their types, and the per-population datasets.
    const handle run{H5Gopen2(file.get(), "/run", H5P_DEFAULT), H5Gclose};
    {
        // status: a fixed-length string (overwritten in place at the end of the run).
        const handle attr = open_attr(run.get(), "status");
        const handle type{H5Aget_type(attr.get()), H5Tclose};
        ASSERT_EQ(H5Tget_class(type.get()), H5T_STRING);
        EXPECT_LE(H5Tis_variable_str(type.get()), 0);
        EXPECT_EQ(H5Tget_size(type.get()), 16u);
        char text[16] = {};
        H5Aread(attr.get(), type.get(), text);
        EXPECT_STREQ(text, "complete");
    }
    EXPECT_EQ(vl_string_attr(run.get(), "config"), make_provenance().config_text);
    EXPECT_EQ(vl_string_attr(run.get(), "started"), make_provenance().started);
    EXPECT_EQ(scalar_attr<std::uint64_t>(run.get(), "seed", H5T_STD_U64LE, H5T_NATIVE_UINT64), 42u);
    EXPECT_EQ(scalar_attr<double>(run.get(), "dt", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE), dt);
    EXPECT_EQ(scalar_attr<std::int64_t>(run.get(), "n_steps", H5T_STD_I64LE, H5T_NATIVE_INT64),
              1000);
    EXPECT_EQ(scalar_attr<std::int64_t>(run.get(), "steps_done", H5T_STD_I64LE, H5T_NATIVE_INT64),
              1000);
    EXPECT_EQ(
        scalar_attr<std::uint64_t>(run.get(), "synaptic_events", H5T_STD_U64LE, H5T_NATIVE_UINT64),
        98765u);
    const handle counts = open_dataset(run.get(), "spike_counts");
    EXPECT_TRUE(dataset_type_is(counts.get(), H5T_STD_U64LE));
    EXPECT_EQ(shape(counts.get()), std::vector<hsize_t>{3});
    const handle sizes = open_dataset(run.get(), "population_sizes");
    EXPECT_TRUE(dataset_type_is(sizes.get(), H5T_STD_U64LE));
}

TEST(hdf5_sink, round_trips_through_async_sink) {
    const scratch_dir dir;
    const std::string path = dir.file("async.h5");
    const run_data d = make_run();
    glia::io::hdf5_sink file_sink(path, make_provenance(), small_chunks());
    {
        glia::runtime::async_sink sink(file_sink, 5ms, 4096);
        feed(sink, d, 11, 5);
    }
    expect_file_matches(path, d);
    EXPECT_EQ(glia::io::read_run_info(path).status, "complete");
}

TEST(hdf5_sink, records_an_interrupted_run_with_the_steps_done) {
    const scratch_dir dir;
    const std::string path = dir.file("interrupted.h5");
    const run_data d = make_run();
    {
        glia::io::hdf5_sink sink(path, make_provenance(), small_chunks());
        feed(sink, d, 37, 3, 500);
    }
    expect_file_matches(path, d, 500);
    const auto info = glia::io::read_run_info(path);
    EXPECT_EQ(info.status, "interrupted");
    EXPECT_EQ(info.steps_done, 500);
    EXPECT_THAT(glia::io::inspect(path), HasSubstr("INCOMPLETE: interrupted at step 500 of 1000"));
}

TEST(hdf5_sink, destroyed_without_end_keeps_its_data_and_status_running) {
    const scratch_dir dir;
    const std::string path = dir.file("unended.h5");
    const run_data d = make_run();
    {
        glia::io::hdf5_sink sink(path, make_provenance(), small_chunks());
        sink.begin(d.layout);
        sink.spikes(d.spikes);
        // no end(): an exception elsewhere
    }
    const auto info = glia::io::read_run_info(path);
    EXPECT_EQ(info.status, "running");
    EXPECT_FALSE(info.has_summary);
    EXPECT_EQ(glia::io::read_spikes(path, "exc").timestamps, expected_spikes(d, 0).timestamps);
    EXPECT_THAT(glia::io::inspect(path), HasSubstr("INCOMPLETE: killed or still running"));
}

TEST(hdf5_sink, a_silent_population_has_empty_datasets) {
    const scratch_dir dir;
    const std::string path = dir.file("silent.h5");
    glia::run_layout l;
    l.dt = dt;
    l.n_steps = 10;
    l.populations = {{"quiet", "m", 0, 5, true}};
    {
        glia::io::hdf5_sink sink(path, make_provenance());
        sink.begin(l);
        sink.flush();
        glia::run_summary s;
        s.steps_done = 10;
        s.spike_counts = {0};
        sink.end(s);
    }
    const auto spikes = glia::io::read_spikes(path, "quiet");
    EXPECT_TRUE(spikes.timestamps.empty());
    EXPECT_TRUE(spikes.node_ids.empty());
    const handle file = open_file(path);
    for (const char* name: {"/spikes/quiet/timestamps", "/spikes/quiet/node_ids"}) {
        const handle dset = open_dataset(file.get(), name);
        std::vector<hsize_t> maxdims;
        EXPECT_EQ(shape(dset.get(), &maxdims), std::vector<hsize_t>{0}) << name;
        EXPECT_EQ(maxdims, std::vector<hsize_t>{H5S_UNLIMITED}) << name;
    }
}

// Populations that emit no spikes (astrocytes) have their reports under
// /astrocytes/<population>/<variable>, one per variable in the main file (a second report of
// the same variable goes to a sibling file); neuron reports stay under /report/<population>.
TEST(hdf5_sink, writes_astrocyte_reports_under_astrocytes_by_variable) {
    const scratch_dir dir;
    const std::string path = dir.file("astro.h5");
    glia::run_layout l;
    l.dt = dt;
    l.n_steps = 4;
    l.populations = {{"exc", "iaf_psc_exp", 0, 3, true, true},
                     {"astro", "astrocyte_lr_1994", 3, 4, false, false}};
    auto report = [](std::string name, std::size_t pop, std::string var, std::string unit,
                     std::vector<glia::neuron_id> ids) {
        glia::report_layout r;
        r.name = std::move(name);
        r.population = pop;
        r.variable = std::move(var);
        r.unit = std::move(unit);
        r.node_ids = std::move(ids);
        r.n_frames = 4;
        return r;
    };
    l.reports = {report("ca", 1, "Ca_astro", "uM", {0, 2}), report("ip3", 1, "IP3", "uM", {1}),
                 report("vm", 0, "V_m", "mV", {0}), report("ca_all", 1, "Ca_astro", "uM",
                                                            {0, 1, 2, 3})};
    {
        glia::io::hdf5_sink sink(path, make_provenance());
        sink.begin(l);
        for (std::size_t r = 0; r < l.reports.size(); ++r) {
            std::vector<float> data(4 * l.reports[r].node_ids.size());
            for (std::size_t i = 0; i < data.size(); ++i) {
                data[i] = static_cast<float>(10 * r + i);
            }
            sink.frames(r, 0, 4, data);
        }
        glia::run_summary s;
        s.steps_done = 4;
        s.spike_counts = {0, 0};
        sink.end(s);
    }
    const auto info = glia::io::read_run_info(path);
    ASSERT_EQ(info.reports.size(), 4u);
    EXPECT_EQ(info.reports[0].path, "/astrocytes/astro/Ca_astro");
    EXPECT_EQ(info.reports[0].file, "astro.h5");
    EXPECT_EQ(info.reports[1].path, "/astrocytes/astro/IP3");
    EXPECT_EQ(info.reports[1].file, "astro.h5");
    EXPECT_EQ(info.reports[2].path, "/report/exc");
    EXPECT_EQ(info.reports[3].path, "/astrocytes/astro/Ca_astro");
    EXPECT_EQ(info.reports[3].file, "astro.ca_all.h5");
    const auto ca = glia::io::read_report_at(path, "/astrocytes/astro/Ca_astro");
    EXPECT_EQ(ca.variable, "Ca_astro");
    EXPECT_EQ(ca.units, "uM");
    EXPECT_EQ(ca.node_ids, (std::vector<std::uint64_t>{0, 2}));
    EXPECT_EQ(ca.data, (std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7}));
    EXPECT_EQ(glia::io::read_report_at(path, "/astrocytes/astro/IP3").data,
              (std::vector<float>{10, 11, 12, 13}));
    EXPECT_EQ(glia::io::read_report(path, "exc").data, (std::vector<float>{20, 21, 22, 23}));
    EXPECT_EQ(glia::io::read_report_at(dir.file("astro.ca_all.h5"), "/astrocytes/astro/Ca_astro")
                  .node_ids.size(),
              4u);
    EXPECT_THAT([&] { glia::io::read_report_at(path, "/astrocytes/astro/h_IP3R"); },
                testing::ThrowsMessage<glia::error>(HasSubstr(
                    "no report in group /astrocytes/astro/h_IP3R (no "
                    "/astrocytes/astro/h_IP3R/data)")));
    EXPECT_THAT(glia::io::inspect(path), HasSubstr("ip3     astro       IP3       uM    4"));
}

TEST(hdf5_sink, rejects_frames_out_of_order_as_a_bug) {
    const scratch_dir dir;
    const run_data d = make_run();
    glia::io::hdf5_sink sink(dir.file("x.h5"), make_provenance());
    sink.begin(d.layout);
    const std::vector<float> row(5, 0.0f);
    EXPECT_THAT([&] { sink.frames(0, 3, 1, row); },
                testing::ThrowsMessage<glia::internal_error>(
                    HasSubstr("report 'v_exc' got frames from 3, expected 0")));
}

TEST(hdf5_sink, refuses_a_report_without_neurons) {
    const scratch_dir dir;
    run_data d = make_run(10);
    d.layout.reports[2].node_ids.clear();
    glia::io::hdf5_sink sink(dir.file("x.h5"), make_provenance());
    EXPECT_THAT([&] { sink.begin(d.layout); }, testing::ThrowsMessage<glia::error>(
                                                   HasSubstr("report 'v_inh' records no neurons")));
}

TEST(hdf5_sink, unfinished_chunks_are_rewritten_in_place_not_reallocated) {
    // Many flushes of a growing partial chunk must not grow the file: the chunk keeps its
    // place (this is what keeps flushed bytes safe from a kill during the next write).
    const scratch_dir dir;
    const std::string path = dir.file("inplace.h5");
    glia::run_layout l;
    l.dt = dt;
    l.n_steps = 100000;
    l.populations = {{"p", "m", 0, 1, true}};
    glia::io::hdf5_options o;
    o.spike_chunk = 4096;
    std::uintmax_t size_after_first = 0;
    {
        glia::io::hdf5_sink sink(path, make_provenance(), o);
        sink.begin(l);
        for (glia::step_t step = 0; step < 2000; ++step) {
            const glia::spike_event ev{step, 0};
            sink.spikes(std::span(&ev, 1));
            sink.flush();
            if (step == 0) {
                size_after_first = fs::file_size(path);
            }
        }
        // 2000 spikes < one chunk of 4096: both datasets keep one chunk each.
        EXPECT_EQ(fs::file_size(path), size_after_first);
    }
    // (Read once the writer is gone: HDF5 shares a file opened twice in one process.)
    const auto s = glia::io::read_spikes(path, "p");
    ASSERT_EQ(s.timestamps.size(), 2000u);
    for (std::size_t i = 0; i < 2000; ++i) {
        ASSERT_EQ(s.timestamps[i], static_cast<double>(i + 1) * dt);
    }
}

// ---------------------------------------------------------------------------------------
// h5py reads what we write.

TEST(hdf5_sink, h5py_reads_the_exact_spikes_and_frames) {
    if (!python_has_h5py()) {
        GTEST_SKIP() << "/usr/bin/python3 has no h5py";
    }
    const scratch_dir dir;
    const std::string path = dir.file("py.h5");
    const run_data d = make_run();
    {
        glia::io::hdf5_sink sink(path, make_provenance(), small_chunks());
        feed(sink, d);
    }
    int status = -1;
    const std::string text = run_read_back(path, status);
    ASSERT_EQ(status, 0) << text;
    const auto out = parse_read_back(text);
    EXPECT_EQ(out.magic_line, "magic 2682");
    EXPECT_EQ(out.version_line, "version 0 1");
    EXPECT_EQ(out.run_line, "run status=complete");
    for (std::size_t p = 0; p < 2; ++p) {
        const auto& name = d.layout.populations[p].name;
        const auto want = expected_spikes(d, p);
        EXPECT_EQ(out.spike_header.at(name),
                  fmt::format("spikes {} sorting=by_time timestamps=float64 node_ids=uint64 "
                              "units=ms n={}",
                              name, want.timestamps.size()));
        EXPECT_EQ(out.spikes.at(name).timestamps, want.timestamps);
        EXPECT_EQ(out.spikes.at(name).node_ids, want.node_ids);
    }
    // The main file holds v_exc (exc) and v_inh (inh).
    for (const std::size_t r: {std::size_t{0}, std::size_t{2}}) {
        const auto& rep = d.layout.reports[r];
        const auto& pop = d.layout.populations[rep.population].name;
        EXPECT_EQ(out.report_header.at(pop),
                  fmt::format("report {} data=float32 frames={} nodes={} units={} variable={}", pop,
                              rep.n_frames, rep.node_ids.size(), rep.unit, rep.variable));
        const auto& frames = out.frames.at(pop);
        ASSERT_EQ(frames.size(), rep.n_frames);
        for (std::size_t j = 0; j < rep.n_frames; ++j) {
            ASSERT_EQ(frames[j].size(), rep.node_ids.size());
            for (std::size_t k = 0; k < rep.node_ids.size(); ++k) {
                ASSERT_EQ(frames[j][k],
                          static_cast<double>(d.frames[r][j * rep.node_ids.size() + k]));
            }
        }
        const double t_start = static_cast<double>(rep.start_step) * dt;
        const double dt_report = static_cast<double>(rep.interval_steps) * dt;
        EXPECT_EQ(
            out.report_time.at(pop),
            (std::vector<double>{t_start, t_start + static_cast<double>(rep.n_frames) * dt_report,
                                 dt_report}));
    }
    // The sibling file, too.
    const std::string sibling = glia::io::sibling_report_path(path, "i_exc");
    const auto side = parse_read_back(run_read_back(sibling, status));
    ASSERT_EQ(status, 0);
    EXPECT_EQ(side.magic_line, "magic 2682");
    EXPECT_EQ(side.frames.at("exc").size(), d.layout.reports[1].n_frames);
}

TEST(hdf5_sink, flush_makes_data_visible_to_another_process_while_writing) {
    if (!python_has_h5py()) {
        GTEST_SKIP() << "/usr/bin/python3 has no h5py";
    }
    const scratch_dir dir;
    const std::string path = dir.file("live.h5");
    const run_data d = make_run();
    glia::io::hdf5_sink sink(path, make_provenance(), small_chunks());
    sink.begin(d.layout);
    const auto half = static_cast<std::ptrdiff_t>(d.spikes.size() / 2);
    sink.spikes(std::span(d.spikes.begin(), d.spikes.begin() + half));
    sink.flush();

    int status = -1;
    const auto out = parse_read_back(run_read_back(path, status));
    ASSERT_EQ(status, 0);
    EXPECT_EQ(out.run_line, "run status=running");
    std::size_t seen =
        out.spikes.at("exc").timestamps.size() + out.spikes.at("inh").timestamps.size();
    EXPECT_EQ(seen, static_cast<std::size_t>(half));
    const auto want = expected_spikes(d, 0, d.spikes[static_cast<std::size_t>(half)].step);
    EXPECT_EQ(out.spikes.at("exc").timestamps,
              std::vector<double>(
                  want.timestamps.begin(),
                  want.timestamps.begin() +
                      static_cast<std::ptrdiff_t>(out.spikes.at("exc").timestamps.size())));
    sink.spikes(std::span(d.spikes.begin() + half, d.spikes.end()));
    sink.end(d.summary);
}

// ---------------------------------------------------------------------------------------
// kill -9: a process writes and flushes in a tight loop and is killed at varied moments
// (mostly inside HDF5 calls). The file must open, with our reader and with h5py, and hold
// at least everything flushed before the kill, exactly.

// Shared with the writer process: what it had flushed when it was killed.
struct kill_progress {
    std::atomic<std::uint64_t> flushes{0};
    std::atomic<std::uint64_t> spikes{0};
    std::atomic<std::uint64_t> frames{0};
};

constexpr glia::neuron_id kill_pop_size = 40;
constexpr std::size_t kill_report_width = 5;

bool kill_spikes_at(glia::step_t step, glia::neuron_id gid) {
    return (step * 31 + gid * 17) % 23 < 3;
}

float kill_frame_value(std::size_t frame, std::size_t node) {
    return static_cast<float>(frame) * 0.25f + static_cast<float>(node);
}

[[noreturn]] void kill_child(const std::string& path, kill_progress* progress) {
    try {
        glia::io::hdf5_options o;
        // Small chunks: many chunks, partial ones at most flushes, compressed and unfiltered
        // ones; but fewer than 64 per dataset in the test's time, so that the chunk index (a
        // v1 B-tree of 64 entries per node) never splits, which is not crash-safe (see
        // docs/output_format.md).
        o.spike_chunk = 50;
        o.report_chunk_values = 40;
        o.deflate_level = 1;
        glia::io::hdf5_sink sink(path, make_provenance(), o);
        glia::run_layout l;
        l.dt = dt;
        l.n_steps = 1'000'000'000;
        l.populations = {{"pop", "m", 0, kill_pop_size, true}};
        glia::report_layout rep{"v", 0, "V_m", "mV", {0, 1, 2, 3, 4}, 0, 1, 1'000'000'000};
        l.reports = {rep};
        sink.begin(l);
        progress->flushes = 1;
        std::uint64_t spikes = 0;
        std::vector<glia::spike_event> batch;
        std::vector<float> row(kill_report_width);
        for (glia::step_t step = 0;; ++step) {
            batch.clear();
            for (glia::neuron_id gid = 0; gid < kill_pop_size; ++gid) {
                if (kill_spikes_at(step, gid)) {
                    batch.push_back({step, gid});
                }
            }
            sink.spikes(batch);
            spikes += batch.size();
            for (std::size_t k = 0; k < kill_report_width; ++k) {
                row[k] = kill_frame_value(static_cast<std::size_t>(step), k);
            }
            sink.frames(0, static_cast<std::size_t>(step), 1, row);
            if (step % 3 == 2) {
                sink.flush();
                progress->spikes = spikes;
                progress->frames = static_cast<std::uint64_t>(step + 1);
                ++progress->flushes;
            }
        }
    }
    catch (...) {
        ::_exit(3);
    }
}

TEST(hdf5_sink, killed_writer_leaves_a_readable_file_with_everything_flushed) {
    const scratch_dir dir;
    const bool with_h5py = python_has_h5py();
    int iterations = 40;
    if (const char* env = std::getenv("GLIA_KILL_ITERATIONS")) {
        iterations = std::atoi(env);
    }
    auto* progress = static_cast<kill_progress*>(::mmap(
        nullptr, sizeof(kill_progress), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    ASSERT_NE(progress, MAP_FAILED);
    std::vector<std::string> failures;
    std::uint64_t min_flushes = ~std::uint64_t{0}, max_flushes = 0;
    for (int it = 0; it < iterations; ++it) {
        const std::string path = dir.file(fmt::format("killed_{}.h5", it));
        new (progress) kill_progress{};
        const std::size_t failures_before = failures.size();
        const pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            kill_child(path, progress);
        }
        // Kill after the first flush, at a varied moment: 0..20 ms later.
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (progress->flushes.load() == 0 && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(100us);
        }
        glia::rng_stream rng(glia::stream_key(11, glia::stream::source_spikes), 0,
                             static_cast<std::uint64_t>(it));
        std::this_thread::sleep_for(
            std::chrono::duration<double, std::micro>(rng.uniform(0, 20000)));
        ::kill(pid, SIGKILL);
        int wstatus = 0;
        ::waitpid(pid, &wstatus, 0);
        ASSERT_TRUE(WIFSIGNALED(wstatus)) << "the writer exited by itself, status " << wstatus;
        const std::uint64_t flushed_spikes = progress->spikes;
        const std::uint64_t flushed_frames = progress->frames;
        min_flushes = std::min<std::uint64_t>(min_flushes, progress->flushes);
        max_flushes = std::max<std::uint64_t>(max_flushes, progress->flushes);

        try {
            const auto info = glia::io::read_run_info(path);
            if (info.status != "running" || info.has_summary) {
                failures.push_back(fmt::format("{}: status {}", path, info.status));
            }
            const auto spikes = glia::io::read_spikes(path, "pop");
            if (spikes.timestamps.size() < flushed_spikes) {
                failures.push_back(fmt::format("{}: {} spikes, {} were flushed", path,
                                               spikes.timestamps.size(), flushed_spikes));
            }
            std::size_t i = 0;
            for (glia::step_t step = 0; i < spikes.timestamps.size(); ++step) {
                for (glia::neuron_id gid = 0; gid < kill_pop_size && i < spikes.timestamps.size();
                     ++gid) {
                    if (kill_spikes_at(step, gid)) {
                        if (spikes.timestamps[i] != static_cast<double>(step + 1) * dt ||
                            spikes.node_ids[i] != gid) {
                            failures.push_back(fmt::format(
                                "{}: spike {} of {} ({} flushed) is ({}, {}), expected ({}, {})",
                                path, i, spikes.timestamps.size(), flushed_spikes,
                                spikes.timestamps[i], spikes.node_ids[i],
                                static_cast<double>(step + 1) * dt, gid));
                            i = spikes.timestamps.size();
                            break;
                        }
                        ++i;
                    }
                }
            }
            const auto report = glia::io::read_report(path, "pop");
            if (report.n_frames < flushed_frames) {
                failures.push_back(fmt::format("{}: {} frames, {} were flushed", path,
                                               report.n_frames, flushed_frames));
            }
            for (std::size_t j = 0; j < report.n_frames; ++j) {
                for (std::size_t k = 0; k < kill_report_width; ++k) {
                    if (report.data[j * kill_report_width + k] != kill_frame_value(j, k)) {
                        failures.push_back(fmt::format(
                            "{}: frame {} of {} ({} flushed) has {} at {}, expected {}", path, j,
                            report.n_frames, flushed_frames, report.data[j * kill_report_width + k],
                            k, kill_frame_value(j, k)));
                        j = report.n_frames;
                        break;
                    }
                }
            }
            if (glia::io::inspect(path).find("INCOMPLETE: killed or still running") ==
                std::string::npos) {
                failures.push_back(fmt::format("{}: inspect does not say INCOMPLETE", path));
            }
            if (with_h5py && it % 8 == 0) {
                int status = -1;
                auto out = parse_read_back(run_read_back(path, status));
                // h5py sees the datasets' shapes: report data may be one round longer than
                // mapping/time says (a kill between the two), which our reader leaves out.
                if (status != 0 || out.spikes["pop"].timestamps != spikes.timestamps ||
                    out.frames["pop"].size() < report.n_frames ||
                    out.run_line != "run status=running") {
                    failures.push_back(
                        fmt::format("{}: h5py reads it differently (exit {})", path, status));
                }
            }
        }
        catch (const std::exception& e) {
            failures.push_back(fmt::format("{}: {}", path, e.what()));
        }
        std::error_code ec;
        if (failures.size() > failures_before) {
            if (const char* keep =
                    std::getenv("GLIA_KILL_KEEP")) {  // a directory, for post-mortems
                fs::copy_file(path, fs::path(keep) / fs::path(path).filename(),
                              fs::copy_options::overwrite_existing, ec);
            }
        }
        fs::remove(path, ec);
    }
    ::munmap(progress, sizeof(kill_progress));
    EXPECT_THAT(failures, testing::IsEmpty());
    std::cout << "[ info ] " << iterations << " kills after " << min_flushes << ".." << max_flushes
              << " flushes\n";
}

// ---------------------------------------------------------------------------------------
// check_writable

TEST(check_writable, refuses_a_directory_that_takes_no_files) {
    EXPECT_THAT([] { glia::io::check_writable("/proc/x.h5"); },
                testing::ThrowsMessage<glia::error>(
                    HasSubstr("cannot write output file '/proc/x.h5': directory '/proc' does not "
                              "accept new files")));
}

TEST(check_writable, refuses_a_path_under_a_regular_file) {
    const scratch_dir dir;
    const std::string blocker = dir.file("plain.txt");
    std::ofstream(blocker) << "x";
    const std::string path = blocker + "/sub/out.h5";
    EXPECT_THAT([&] { glia::io::check_writable(path); },
                testing::ThrowsMessage<glia::error>(HasSubstr(fmt::format(
                    "cannot write output file '{}': '{}' is not a directory", path, blocker))));
}

TEST(check_writable, refuses_a_directory_as_the_file) {
    const scratch_dir dir;
    EXPECT_THAT([&] { glia::io::check_writable(dir.path().string()); },
                testing::ThrowsMessage<glia::error>(HasSubstr("it is a directory")));
}

TEST(check_writable, creates_missing_parents_and_leaves_no_file_behind) {
    const scratch_dir dir;
    const std::string path = dir.file("a/b/out.h5");
    glia::io::check_writable(path);
    EXPECT_TRUE(fs::is_directory(dir.path() / "a" / "b"));
    EXPECT_TRUE(fs::is_empty(dir.path() / "a" / "b"));
}

TEST(hdf5_sink, begin_fails_with_the_path_when_the_file_cannot_be_created) {
    const run_data d = make_run(10);
    glia::io::hdf5_sink sink("/proc/glia_out.h5", make_provenance());
    EXPECT_THAT([&] { sink.begin(d.layout); },
                testing::ThrowsMessage<glia::error>(
                    HasSubstr("cannot write output file '/proc/glia_out.h5'")));
}

// ---------------------------------------------------------------------------------------
// The reader on files we did not write, and its errors.

TEST(hdf5_reader, names_the_file_and_what_is_missing) {
    const scratch_dir dir;
    const std::string path = dir.file("out.h5");
    EXPECT_THAT([&] { glia::io::read_spikes(path, "exc"); },
                testing::ThrowsMessage<glia::error>(
                    HasSubstr(fmt::format("cannot read '{}': no such file", path))));
    const run_data d = make_run(50);
    {
        glia::io::hdf5_sink sink(path, make_provenance());
        feed(sink, d);
    }
    EXPECT_THAT([&] { glia::io::read_spikes(path, "src"); },
                testing::ThrowsMessage<glia::error>(HasSubstr(fmt::format(
                    "cannot read '{}': no spikes of population 'src' (no group /spikes/src; spike "
                    "populations: exc, inh)",
                    path))));
    EXPECT_THAT([&] { glia::io::read_report(path, "src"); },
                testing::ThrowsMessage<glia::error>(HasSubstr("no report of population 'src'")));
    const std::string text = dir.file("text.h5");
    std::ofstream(text) << "not hdf5";
    EXPECT_THAT([&] { glia::io::read_run_info(text); },
                testing::ThrowsMessage<glia::error>(
                    HasSubstr(fmt::format("cannot read '{}': not a readable HDF5 file", text))));
}

// Writes a spike file as BMTK (sorting as a string) or the pre-2019 layout did.
void write_foreign_spikes(const std::string& path, bool legacy) {
    const handle file{H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose};
    const handle spikes{H5Gcreate2(file.get(), "spikes", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                        H5Gclose};
    handle group;
    if (legacy) {
        group = handle{H5Gopen2(file.get(), "spikes", H5P_DEFAULT), H5Gclose};
    } else {
        group = handle{H5Gcreate2(spikes.get(), "cortex", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                       H5Gclose};
    }
    const handle str{H5Tcopy(H5T_C_S1), H5Tclose};
    H5Tset_size(str.get(), H5T_VARIABLE);
    const handle scalar{H5Screate(H5S_SCALAR), H5Sclose};
    const handle attr{
        H5Acreate2(group.get(), "sorting", str.get(), scalar.get(), H5P_DEFAULT, H5P_DEFAULT),
        H5Aclose};
    const char* sorting = legacy ? "by_gid" : "by_time";
    H5Awrite(attr.get(), str.get(), &sorting);
    const hsize_t n[] = {3};
    const handle space{H5Screate_simple(1, n, nullptr), H5Sclose};
    const float times[] = {0.5f, 1.25f, 2.0f};  // float32, as some writers do
    const std::uint32_t ids[] = {4, 1, 4};      // uint32
    const handle t{H5Dcreate2(group.get(), "timestamps", H5T_IEEE_F32LE, space.get(), H5P_DEFAULT,
                              H5P_DEFAULT, H5P_DEFAULT),
                   H5Dclose};
    H5Dwrite(t.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, times);
    const handle i{H5Dcreate2(group.get(), legacy ? "gids" : "node_ids", H5T_STD_U32LE, space.get(),
                              H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                   H5Dclose};
    H5Dwrite(i.get(), H5T_NATIVE_UINT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, ids);
}

TEST(hdf5_reader, reads_sorting_as_a_string_and_other_types) {
    const scratch_dir dir;
    const std::string path = dir.file("bmtk.h5");
    write_foreign_spikes(path, false);
    EXPECT_THAT(glia::io::list_spike_populations(path), testing::ElementsAre("cortex"));
    const auto s = glia::io::read_spikes(path, "cortex");
    EXPECT_EQ(s.sorting, "by_time");
    EXPECT_EQ(s.timestamps, (std::vector<double>{0.5, 1.25, 2.0}));
    EXPECT_EQ(s.node_ids, (std::vector<std::uint64_t>{4, 1, 4}));
}

TEST(hdf5_reader, reads_the_legacy_gids_layout_as_population_empty) {
    const scratch_dir dir;
    const std::string path = dir.file("legacy.h5");
    write_foreign_spikes(path, true);
    EXPECT_THAT(glia::io::list_spike_populations(path), testing::ElementsAre(""));
    const auto s = glia::io::read_spikes(path, "");
    EXPECT_EQ(s.sorting, "by_gid");
    EXPECT_EQ(s.timestamps, (std::vector<double>{0.5, 1.25, 2.0}));
    EXPECT_EQ(s.node_ids, (std::vector<std::uint64_t>{4, 1, 4}));
}

// ---------------------------------------------------------------------------------------
// inspect

TEST(inspect, reports_status_provenance_counts_rates_and_reports) {
    const scratch_dir dir;
    const std::string path = dir.file("out.h5");
    const run_data d = make_run();
    {
        glia::io::hdf5_sink sink(path, make_provenance(), small_chunks());
        feed(sink, d);
    }
    const std::string text = glia::io::inspect(path);
    EXPECT_THAT(text, HasSubstr("status:      complete (1000 of 1000 steps)"));
    EXPECT_THAT(text, HasSubstr("seed:        42"));
    EXPECT_THAT(text, HasSubstr("version:     0.1.0 (git abcdef123456)"));
    EXPECT_THAT(text, HasSubstr("host:        testhost"));
    EXPECT_THAT(text, HasSubstr("started:     2024-05-06T07:08:09+02:00"));
    EXPECT_THAT(text, HasSubstr("wall time:   1.250 s simulation, 0.500 s network build"));
    EXPECT_THAT(text, HasSubstr("network:     110 neurons, 4321 synapses, 98765 synaptic events"));
    EXPECT_THAT(text, HasSubstr("rates over the 100 ms simulated"));
    const double seconds = static_cast<double>(d.layout.n_steps) * dt / 1000.0;
    for (std::size_t p = 0; p < 3; ++p) {
        const auto& pop = d.layout.populations[p];
        const double rate = static_cast<double>(d.summary.spike_counts[p]) /
                            static_cast<double>(pop.size) / seconds;
        // name, model, size, first gid, spikes, rate: one row.
        const testing::Matcher<std::string> row = testing::ContainsRegex(fmt::format(
            "  {} +{} +{} +{} +{}{} +{:.3f}\n", pop.name, pop.model, pop.size, pop.first_gid,
            d.summary.spike_counts[p], pop.spikes_recorded ? "" : " \\(not recorded\\)", rate));
        EXPECT_THAT(text, row) << text;
    }
    EXPECT_THAT(
        text, testing::ContainsRegex("  v_exc +exc +V_m +mV +100 +5 +0\\.\\.100 step 1 +out\\.h5"));
    EXPECT_THAT(text,
                testing::ContainsRegex(
                    "  i_exc +exc +I_syn +pA +50 +2 +0\\.5\\.\\.100\\.5 step 2 +out\\.i_exc\\.h5"));
    EXPECT_THAT(text, testing::ContainsRegex(
                          "  v_inh +inh +V_m +mV +334 +20 +0\\.\\.100\\.2 step 0\\.3 +out\\.h5"));
}

TEST(inspect, rates_of_a_killed_run_use_the_last_recorded_time) {
    const scratch_dir dir;
    const std::string path = dir.file("cut.h5");
    run_data d = make_run();
    d.layout.reports.clear();
    std::size_t sent = 0;
    {
        glia::io::hdf5_sink sink(path, make_provenance(), small_chunks());
        sink.begin(d.layout);
        while (sent < d.spikes.size() && d.spikes[sent].step < 400) {
            ++sent;
        }
        sink.spikes(std::span(d.spikes).first(sent));
    }  // destroyed without end(): as good as killed after a flush
    const double last = static_cast<double>(d.spikes[sent - 1].step + 1) * dt;
    const auto exc = expected_spikes(d, 0, 400);
    const std::string text = glia::io::inspect(path);
    EXPECT_THAT(text, HasSubstr(fmt::format("rates over {:g} ms, the last recorded time", last)));
    EXPECT_THAT(text, testing::ContainsRegex(fmt::format(
                          "  exc +iaf_psc_exp +80 +0 +{} +{:.3f}\n", exc.timestamps.size(),
                          static_cast<double>(exc.timestamps.size()) / 80.0 / (last / 1000.0))));
    EXPECT_THAT(
        text, testing::ContainsRegex("  src +poisson_source +10 +100 +- \\(not recorded\\) +-\n"));
}

// ---------------------------------------------------------------------------------------
// async_sink

// Records what it gets; optionally slow, optionally failing at a given spikes() call.
struct test_sink: glia::recording_sink {
    std::chrono::microseconds delay{0};
    int fail_at_call = -1;
    int spike_calls = 0;
    std::atomic<int> flushes{0};
    bool ended = false;
    std::vector<glia::spike_event> got;

    void begin(const glia::run_layout&) override {}
    void spikes(std::span<const glia::spike_event> batch) override {
        std::this_thread::sleep_for(delay);
        if (++spike_calls == fail_at_call) {
            throw glia::error("disk full");
        }
        got.insert(got.end(), batch.begin(), batch.end());
    }
    void frames(std::size_t, std::size_t, std::size_t, std::span<const float>) override {}
    void end(const glia::run_summary&) override { ended = true; }
    void flush() override { ++flushes; }
};

std::vector<glia::spike_event> spike_batch(int i) {
    std::vector<glia::spike_event> b;
    for (glia::neuron_id g = 0; g < 100; ++g) {
        b.push_back({i, g});
    }
    return b;
}

TEST(async_sink, blocks_the_producer_instead_of_queueing_beyond_the_bound) {
    test_sink slow;
    slow.delay = 5ms;
    const std::size_t bound = 4096;  // about 4 batches of 100 spikes
    std::vector<glia::spike_event> all;
    glia::runtime::async_sink sink(slow, 0s, bound);
    sink.begin({});
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 40; ++i) {
        const auto b = spike_batch(i);
        all.insert(all.end(), b.begin(), b.end());
        sink.spikes(b);
    }
    const auto producer_time = std::chrono::steady_clock::now() - t0;
    EXPECT_LE(sink.peak_pending_bytes(), bound);
    EXPECT_GT(sink.peak_pending_bytes(), bound / 2);
    // The producer can only have finished once at least 40 - 5 batches were written, 5 ms each.
    EXPECT_GE(producer_time, 35 * 5ms);
    sink.end({});
    EXPECT_EQ(sink.pending_bytes(), 0u);
    EXPECT_EQ(slow.got, all);
    EXPECT_TRUE(slow.ended);
}

TEST(async_sink, rethrows_the_writers_exception_on_the_next_call_and_from_end) {
    test_sink failing;
    failing.fail_at_call = 2;
    glia::runtime::async_sink sink(failing, 0s);
    sink.begin({});
    sink.spikes(spike_batch(0));
    sink.spikes(spike_batch(1));  // fails on the writer thread
    EXPECT_THAT([&] { sink.flush(); }, testing::ThrowsMessage<glia::error>(HasSubstr("disk full")));
    EXPECT_THAT([&] { sink.spikes(spike_batch(2)); },
                testing::ThrowsMessage<glia::error>(HasSubstr("disk full")));
    EXPECT_THAT([&] { sink.end({}); }, testing::ThrowsMessage<glia::error>(HasSubstr("disk full")));
    EXPECT_EQ(failing.spike_calls, 2);  // nothing forwarded after the failure
    EXPECT_FALSE(failing.ended);
}

TEST(async_sink, destroyed_without_end_writes_what_is_queued_and_flushes) {
    test_sink target;
    target.delay = 2ms;
    {
        glia::runtime::async_sink sink(target, 0s);
        sink.begin({});
        for (int i = 0; i < 10; ++i) {
            sink.spikes(spike_batch(i));
        }
    }
    EXPECT_EQ(target.got.size(), 1000u);
    EXPECT_EQ(target.flushes.load(), 1);
    EXPECT_FALSE(target.ended);
}

TEST(async_sink, flushes_the_wrapped_sink_periodically) {
    test_sink target;
    glia::runtime::async_sink sink(target, 20ms);
    sink.begin({});
    std::this_thread::sleep_for(200ms);
    EXPECT_GE(target.flushes.load(), 3);
    sink.end({});
    const int after_end = target.flushes.load();
    std::this_thread::sleep_for(60ms);
    EXPECT_EQ(target.flushes.load(), after_end);  // the timer stopped
}

// ---------------------------------------------------------------------------------------
// signal_watcher

bool wait_until(const std::function<bool()>& ready) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!ready()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

TEST(signal_watcher, first_signal_sets_stop_second_sets_force) {
    std::atomic<bool> stop{false};
    glia::runtime::signal_watcher watcher(stop);
    EXPECT_EQ(watcher.signal_number(), 0);
    std::raise(SIGUSR1);
    ASSERT_TRUE(wait_until([&] { return stop.load(); }));
    EXPECT_EQ(watcher.signal_number(), SIGUSR1);
    EXPECT_FALSE(watcher.force());
    std::raise(SIGTERM);
    ASSERT_TRUE(wait_until([&] { return watcher.force(); }));
    EXPECT_EQ(watcher.signal_number(), SIGUSR1);  // the first one
    EXPECT_EQ(watcher.count(), 2);
}

TEST(signal_watcher, third_signal_exits_with_128_plus_the_signal) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        std::atomic<bool> stop{false};
        glia::runtime::signal_watcher watcher(stop);
        for (int i = 0; i < 3; ++i) {
            std::raise(SIGINT);
            const auto deadline = std::chrono::steady_clock::now() + 2s;
            while (watcher.count() < i + 1 && std::chrono::steady_clock::now() < deadline) {
                std::this_thread::sleep_for(1ms);
            }
        }
        std::this_thread::sleep_for(2s);
        ::_exit(0);  // not reached if the third signal exits
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status)) << status;
    EXPECT_EQ(WEXITSTATUS(status), 128 + SIGINT);
}

}  // namespace
