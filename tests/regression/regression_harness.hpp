#pragma once
// What the regression tests share: the glia executable (cli_harness.hpp), the Fashion-MNIST
// guard of the protocol tests (skipped without Debian's dataset-fashion-mnist unless
// GLIA_REQUIRE_DATA=1), and reading a float dataset of an output file.

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <hdf5.h>

#include "cli_harness.hpp"

namespace glia::test {

inline constexpr const char* fashion_dir = "/usr/share/datasets/fashion-mnist";

// Empty when Fashion-MNIST is installed; else why the test cannot run. A missing dataset is a
// failure when GLIA_REQUIRE_DATA=1.
inline std::string missing_fashion_mnist() {
    if (std::filesystem::exists(std::filesystem::path(fashion_dir) /
                                "train-images-idx3-ubyte.gz")) {
        return {};
    }
    const char* v = std::getenv("GLIA_REQUIRE_DATA");
    if (v != nullptr && std::string(v) == "1") {
        ADD_FAILURE() << "GLIA_REQUIRE_DATA=1 but Fashion-MNIST is not at " << fashion_dir;
    }
    return std::string("Fashion-MNIST is not installed at ") + fashion_dir;
}

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
