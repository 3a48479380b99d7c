#pragma once
// What the regression tests share beyond cli_harness.hpp (the glia executable, scratch
// directories, the Fashion-MNIST guard): reading a float dataset and a string attribute of an
// output file.

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <hdf5.h>

#include "cli_harness.hpp"

namespace glia::test {

struct float_dataset {
    std::vector<hsize_t> dims;
    std::vector<float> values;
};

// The dataset `path` of an HDF5 file as floats; empty dims when it cannot be read.
inline float_dataset read_floats(const std::string& file, const std::string& path) {
    float_dataset d;
    const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        return d;
    }
    const hid_t ds = H5Dopen2(f, path.c_str(), H5P_DEFAULT);
    if (ds >= 0) {
        const hid_t space = H5Dget_space(ds);
        const int rank = H5Sget_simple_extent_ndims(space);
        std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(rank, 0)));
        H5Sget_simple_extent_dims(space, dims.data(), nullptr);
        hsize_t n = 1;
        for (hsize_t x: dims) {
            n *= x;
        }
        std::vector<float> values(n);
        if (H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) >= 0) {
            d.dims = std::move(dims);
            d.values = std::move(values);
        }
        H5Sclose(space);
        H5Dclose(ds);
    }
    H5Fclose(f);
    return d;
}

// The string attribute `name` of group `group` of an HDF5 file; "" when it cannot be read.
inline std::string read_string_attribute(const std::string& file, const std::string& group,
                                         const std::string& name) {
    std::string out;
    const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        return out;
    }
    if (H5Aexists_by_name(f, group.c_str(), name.c_str(), H5P_DEFAULT) > 0) {
        const hid_t a = H5Aopen_by_name(f, group.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT);
        const hid_t type = H5Aget_type(a);
        if (H5Tis_variable_str(type) > 0) {
            char* text = nullptr;
            if (H5Aread(a, type, &text) >= 0 && text != nullptr) {
                out = text;
                H5free_memory(text);
            }
        } else {
            std::string buf(H5Tget_size(type), '\0');
            if (H5Aread(a, type, buf.data()) >= 0) {
                out = buf.substr(0, buf.find('\0'));
            }
        }
        H5Tclose(type);
        H5Aclose(a);
    }
    H5Fclose(f);
    return out;
}

}  // namespace glia::test
