#include "io/network_metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include <fmt/format.h>
#include <hdf5.h>

#include <glia/error.hpp>

#include "io/hdf5_handle.hpp"

namespace glia::io {

namespace {

using h5::handle;

[[noreturn]] void fail(const std::string& file, const std::string& what) {
    const std::string detail = h5::last_error();
    throw glia::error(fmt::format("cannot write /metrics to output file '{}': {}{}", file, what,
                                  detail.empty() ? "" : " (HDF5: " + detail + ")"));
}

hid_t check(hid_t id, const std::string& file, const std::string& what) {
    if (id < 0) {
        fail(file, what);
    }
    return id;
}

handle scalar_space(const std::string& file) {
    return {check(H5Screate(H5S_SCALAR), file, "cannot create a dataspace"), H5Sclose};
}

void scalar_dataset(hid_t loc, const char* name, hid_t file_type, hid_t mem_type,
                    const void* value, const std::string& file) {
    const handle space = scalar_space(file);
    const handle d{check(H5Dcreate2(loc, name, file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT,
                                    H5P_DEFAULT),
                         file, std::string("cannot create dataset ") + name),
                   H5Dclose};
    check(H5Dwrite(d.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, value), file,
          std::string("cannot write dataset ") + name);
}

void attribute(hid_t obj, const char* name, hid_t file_type, hid_t mem_type, const void* value,
               const std::string& file) {
    const handle space = scalar_space(file);
    const handle a{check(H5Acreate2(obj, name, file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT),
                         file, std::string("cannot create attribute ") + name),
                   H5Aclose};
    check(H5Awrite(a.get(), mem_type, value), file, std::string("cannot write attribute ") + name);
}

void f64_attribute(hid_t obj, const char* name, double v, const std::string& file) {
    attribute(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &v, file);
}

void u64_attribute(hid_t obj, const char* name, std::uint64_t v, const std::string& file) {
    attribute(obj, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, &v, file);
}

void text_attribute(hid_t obj, const char* name, const std::string& value,
                    const std::string& file) {
    const handle type{check(H5Tcopy(H5T_C_S1), file, "cannot create a string type"), H5Tclose};
    H5Tset_size(type.get(), H5T_VARIABLE);
    H5Tset_cset(type.get(), H5T_CSET_UTF8);
    const char* text = value.c_str();
    attribute(obj, name, type.get(), type.get(), &text, file);
}

// ----- reading -----

std::string number_text(double v) {
    return fmt::format("{}", v);
}

// The value of a scalar (or small) numeric or string dataset or attribute, as text.
// `read` reads into a buffer of the given memory type.
template <typename Read>
std::string value_text(hid_t type, hid_t space, Read read) {
    const H5T_class_t cls = H5Tget_class(type);
    const hssize_t n = H5Sget_simple_extent_npoints(space);
    if (cls == H5T_STRING) {
        if (n != 1) {
            return fmt::format("[{} strings]", n);
        }
        if (H5Tis_variable_str(type) > 0) {
            char* text = nullptr;
            const handle mem{H5Tcopy(H5T_C_S1), H5Tclose};
            H5Tset_size(mem.get(), H5T_VARIABLE);
            H5Tset_cset(mem.get(), H5Tget_cset(type));  // HDF5 converts no character set
            if (read(mem.get(), &text) < 0 || text == nullptr) {
                return "?";
            }
            std::string out(text);
            H5free_memory(text);
            return out;
        }
        const std::size_t size = H5Tget_size(type);
        std::string out(size, '\0');
        const handle mem{H5Tcopy(H5T_C_S1), H5Tclose};
        H5Tset_size(mem.get(), size);
        H5Tset_cset(mem.get(), H5Tget_cset(type));
        if (read(mem.get(), out.data()) < 0) {
            return "?";
        }
        return out.substr(0, out.find('\0'));
    }
    if (cls != H5T_INTEGER && cls != H5T_FLOAT) {
        return "?";
    }
    if (n != 1) {
        return fmt::format("[{} values]", n);
    }
    if (cls == H5T_INTEGER) {
        if (H5Tget_sign(type) == H5T_SGN_NONE) {
            std::uint64_t v = 0;
            return read(H5T_NATIVE_UINT64, &v) < 0 ? "?" : fmt::format("{}", v);
        }
        std::int64_t v = 0;
        return read(H5T_NATIVE_INT64, &v) < 0 ? "?" : fmt::format("{}", v);
    }
    double v = 0;
    return read(H5T_NATIVE_DOUBLE, &v) < 0 ? "?" : number_text(v);
}

void read_attributes(hid_t obj, const std::string& prefix, std::vector<metric_entry>& out) {
    H5O_info_t info;
    if (H5Oget_info2(obj, &info, H5O_INFO_NUM_ATTRS) < 0) {
        return;
    }
    for (hsize_t k = 0; k < info.num_attrs; ++k) {
        const handle a{H5Aopen_by_idx(obj, ".", H5_INDEX_NAME, H5_ITER_INC, k, H5P_DEFAULT,
                                      H5P_DEFAULT),
                       H5Aclose};
        if (!a.valid()) {
            continue;
        }
        const ssize_t len = H5Aget_name(a.get(), 0, nullptr);
        std::string name(static_cast<std::size_t>(std::max<ssize_t>(len, 0)), '\0');
        H5Aget_name(a.get(), name.size() + 1, name.data());
        const handle type{H5Aget_type(a.get()), H5Tclose};
        const handle space{H5Aget_space(a.get()), H5Sclose};
        const std::string text = value_text(type.get(), space.get(), [&](hid_t mem, void* buf) {
            return H5Aread(a.get(), mem, buf);
        });
        out.push_back({prefix + "@" + name, text});
    }
}

}  // namespace

void write_branching_factor(const std::string& path, const reservoir::branching_measurement& m) {
    const h5::quiet_errors quiet;
    const handle file{
        check(H5Fopen(path.c_str(), H5F_ACC_RDWR, h5::unlocked_access().get()), path,
              "cannot open it"),
        H5Fclose};
    handle metrics;
    if (H5Lexists(file.get(), "metrics", H5P_DEFAULT) > 0) {
        metrics = handle{check(H5Gopen2(file.get(), "metrics", H5P_DEFAULT), path,
                               "cannot open /metrics"),
                         H5Gclose};
    } else {
        metrics = handle{check(H5Gcreate2(file.get(), "metrics", H5P_DEFAULT, H5P_DEFAULT,
                                          H5P_DEFAULT),
                               path, "cannot create /metrics"),
                         H5Gclose};
    }
    if (H5Lexists(metrics.get(), "branching_factor", H5P_DEFAULT) > 0) {
        check(H5Ldelete(metrics.get(), "branching_factor", H5P_DEFAULT), path,
              "cannot replace /metrics/branching_factor");
    }
    const handle g{check(H5Gcreate2(metrics.get(), "branching_factor", H5P_DEFAULT, H5P_DEFAULT,
                                    H5P_DEFAULT),
                         path, "cannot create /metrics/branching_factor"),
                   H5Gclose};
    const std::uint64_t spikes = m.result.spikes;
    const std::uint64_t neurons = m.result.neurons;
    scalar_dataset(g.get(), "value", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &m.result.value, path);
    scalar_dataset(g.get(), "spikes", H5T_STD_U64LE, H5T_NATIVE_UINT64, &spikes, path);
    scalar_dataset(g.get(), "neurons", H5T_STD_U64LE, H5T_NATIVE_UINT64, &neurons, path);
    std::string names;
    for (const auto& p: m.populations) {
        names += (names.empty() ? "" : ", ") + p;
    }
    text_attribute(g.get(), "populations", names, path);
    text_attribute(g.get(), "definition",
                   "NALSM (science-spec 1.8): mean over neurons of the mean over their spikes "
                   "of post / max(pre, 1); docs/output_format.md",
                   path);
    f64_attribute(g.get(), "bin", m.bin, path);
    f64_attribute(g.get(), "delta_t", m.delta_t, path);
    f64_attribute(g.get(), "start", m.start, path);
    f64_attribute(g.get(), "stop", m.stop, path);
    text_attribute(g.get(), "units", "ms (bin, delta_t, start, stop)", path);
    u64_attribute(g.get(), "evaluated_bins", m.evaluated_bins, path);
    u64_attribute(g.get(), "kept_spikes", m.kept_spikes, path);
    u64_attribute(g.get(), "pre_spikes", m.result.pre, path);
    u64_attribute(g.get(), "post_spikes", m.result.post, path);
    u64_attribute(g.get(), "population_neurons", m.n_neurons, path);
    u64_attribute(g.get(), "connected_pairs", m.connected_pairs, path);
    check(H5Fflush(file.get(), H5F_SCOPE_GLOBAL), path, "cannot flush");
}

void write_astrocyte_level(const std::string& path, const std::string& name,
                           const std::vector<double>& level, std::size_t n_regions, double dt) {
    const h5::quiet_errors quiet;
    const std::string where = "/astrocytes/" + name;
    auto ok = [&](hid_t id, const std::string& what) {
        if (id < 0) {
            const std::string detail = h5::last_error();
            throw glia::error(fmt::format("cannot write {}/A to output file '{}': {}{}", where,
                                          path, what,
                                          detail.empty() ? "" : " (HDF5: " + detail + ")"));
        }
        return id;
    };
    const handle file{ok(H5Fopen(path.c_str(), H5F_ACC_RDWR, h5::unlocked_access().get()),
                         "cannot open it"),
                      H5Fclose};
    handle group;
    if (H5Lexists(file.get(), "astrocytes", H5P_DEFAULT) > 0) {
        group = handle{ok(H5Gopen2(file.get(), "astrocytes", H5P_DEFAULT), "cannot open /astrocytes"),
                       H5Gclose};
    } else {
        group = handle{ok(H5Gcreate2(file.get(), "astrocytes", H5P_DEFAULT, H5P_DEFAULT,
                                     H5P_DEFAULT),
                          "cannot create /astrocytes"),
                       H5Gclose};
    }
    if (H5Lexists(group.get(), name.c_str(), H5P_DEFAULT) > 0) {
        // An earlier part of a resumed run wrote it: the level is complete from step 0 again.
        const handle old{ok(H5Gopen2(group.get(), name.c_str(), H5P_DEFAULT),
                            "cannot open " + where),
                         H5Gclose};
        if (H5Lexists(old.get(), "A", H5P_DEFAULT) <= 0) {
            ok(-1, where + " exists already (a population of the same name): rename the "
                           "modulator");
        }
        ok(H5Ldelete(group.get(), name.c_str(), H5P_DEFAULT), "cannot replace " + where);
    }
    const handle g{ok(H5Gcreate2(group.get(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT,
                                 H5P_DEFAULT),
                      "cannot create " + where),
                   H5Gclose};
    const hsize_t dims[2] = {level.size() / std::max<std::size_t>(1, n_regions), n_regions};
    const handle space{ok(H5Screate_simple(n_regions > 1 ? 2 : 1, dims, nullptr),
                          "cannot create a dataspace"),
                       H5Sclose};
    const hsize_t n = level.size();
    const handle d{ok(H5Dcreate2(g.get(), "A", H5T_IEEE_F64LE, space.get(), H5P_DEFAULT,
                                 H5P_DEFAULT, H5P_DEFAULT),
                      "cannot create dataset A"),
                   H5Dclose};
    if (n > 0) {
        ok(H5Dwrite(d.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, level.data()),
           "cannot write dataset A");
    }
    f64_attribute(g.get(), "dt", dt, path);
    text_attribute(g.get(), "model", "nalsm_astrocyte", path);
    text_attribute(g.get(), "definition",
                   "A[t] = level at time t dt (during step t), from the spikes at times < t dt, "
                   "i.e. emitted in steps < t - 1; one column per region when there are several; "
                   "docs/models/nalsm_astrocyte.md",
                   path);
    ok(H5Fflush(file.get(), H5F_SCOPE_GLOBAL), "cannot flush");
}

std::vector<metric_entry> read_metrics(const std::string& path) {
    const h5::quiet_errors quiet;
    std::vector<metric_entry> out;
    const handle file{H5Fopen(path.c_str(), H5F_ACC_RDONLY, h5::unlocked_access().get()),
                      H5Fclose};
    if (!file.valid()) {
        const std::string detail = h5::last_error();
        throw glia::error(fmt::format("cannot read output file '{}'{}", path,
                                      detail.empty() ? "" : " (HDF5: " + detail + ")"));
    }
    if (H5Lexists(file.get(), "metrics", H5P_DEFAULT) <= 0) {
        return out;
    }
    const handle metrics{H5Gopen2(file.get(), "metrics", H5P_DEFAULT), H5Gclose};
    if (!metrics.valid()) {
        return out;
    }
    // Datasets first, then attributes (the parameters behind them).
    struct lists {
        std::vector<metric_entry> datasets, attributes;
    } found;
    read_attributes(metrics.get(), "", found.attributes);
    H5Lvisit(
        metrics.get(), H5_INDEX_NAME, H5_ITER_INC,
        [](hid_t g, const char* name, const H5L_info_t*, void* data) -> herr_t {
            auto& l = *static_cast<lists*>(data);
            std::string key = name;
            for (auto& c: key) {
                c = c == '/' ? '.' : c;
            }
            const handle obj{H5Oopen(g, name, H5P_DEFAULT), H5Oclose};
            if (!obj.valid()) {
                return 0;
            }
            if (H5Iget_type(obj.get()) == H5I_DATASET) {
                const handle type{H5Dget_type(obj.get()), H5Tclose};
                const handle space{H5Dget_space(obj.get()), H5Sclose};
                l.datasets.push_back(
                    {key, value_text(type.get(), space.get(), [&](hid_t mem, void* buf) {
                         return H5Dread(obj.get(), mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
                     })});
            }
            read_attributes(obj.get(), key, l.attributes);
            return 0;
        },
        &found);
    out = std::move(found.datasets);
    out.insert(out.end(), found.attributes.begin(), found.attributes.end());
    H5Eclear2(H5E_DEFAULT);
    return out;
}

}  // namespace glia::io
