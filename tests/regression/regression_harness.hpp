#pragma once
// What the regression tests share beyond cli_harness.hpp (the glia executable, scratch
// directories, the Fashion-MNIST guard): reading a float dataset of an output file.

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

}  // namespace glia::test
