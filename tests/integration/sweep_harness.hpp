#pragma once
// Shared by the sweep integration tests (test_sweep_cli.cpp, test_sweep_slurm.cpp): running the
// glia executable, a scratch directory per test, a tiny experiment with a sweep block, and
// reading the collected table back (CSV, and HDF5 with the C API).

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <hdf5.h>

#include <unistd.h>

#include "cli_harness.hpp"

namespace glia::test {

namespace fs = std::filesystem;

// A scratch directory per test (cli_harness.hpp), named glia_sweep_*.
class sweep_scratch_test: public scratch_test {
protected:
    sweep_scratch_test(): scratch_test("sweep") {}
};

// 100 neurons driven by Poisson input, a few hundred spikes in `duration`: each point runs in
// a fraction of a second. The output goes to <out_dir>/tiny.h5, so the sweep's directory is
// <out_dir>/<sweep name>.
inline std::string tiny_experiment(const std::string& out_dir, const std::string& sweep_block,
                                   const std::string& duration = "200 ms") {
    return "simulation: {dt: 0.1 ms, duration: " + duration +
           ", seed: 7}\n"
           "populations:\n"
           "  exc:\n"
           "    model: iaf_psc_exp\n"
           "    size: 80\n"
           "    params: {E_L: -65 mV, V_th: -50 mV, V_reset: -65 mV, t_ref: 2 ms, tau_m: 20 ms,"
           " C_m: 250 pF}\n"
           "  inh: {model: iaf_psc_exp, size: 20}\n"
           "projections:\n"
           "  ee: {source: exc, target: exc, rule: pairwise_bernoulli, p: 0.1, weight: 30 pA,"
           " delay: 1.5 ms}\n"
           "  ei: {source: exc, target: inh, rule: pairwise_bernoulli, p: 0.1, weight: 60 pA,"
           " delay: 1 ms}\n"
           "inputs:\n"
           "  drive: {type: poisson_generator, target: exc, rate: 8 kHz, weight: 40 pA}\n"
           "output:\n"
           "  file: " +
           out_dir + "/tiny.h5\n" + sweep_block;
}

// A CSV file as rows of cells (no quoted cells: the tables of these tests have none).
inline std::vector<std::vector<std::string>> read_csv(const std::string& path) {
    std::vector<std::vector<std::string>> rows;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
        std::vector<std::string> cells;
        std::stringstream s(line);
        for (std::string cell; std::getline(s, cell, ',');) {
            cells.push_back(cell);
        }
        if (!line.empty() && line.back() == ',') {
            cells.emplace_back();
        }
        rows.push_back(cells);
    }
    return rows;
}

// Column name -> column, from a CSV read by read_csv (header first).
inline std::map<std::string, std::vector<std::string>>
csv_columns(const std::vector<std::vector<std::string>>& rows) {
    std::map<std::string, std::vector<std::string>> out;
    if (rows.empty()) {
        return out;
    }
    for (std::size_t r = 1; r < rows.size(); ++r) {
        for (std::size_t c = 0; c < rows[0].size(); ++c) {
            out[rows[0][c]].push_back(c < rows[r].size() ? rows[r][c] : "");
        }
    }
    return out;
}

// /table/<name> of a collected.h5: float64 columns.
inline std::vector<double> read_h5_numbers(const std::string& file, const std::string& dataset) {
    std::vector<double> out;
    const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        return out;
    }
    const hid_t d = H5Dopen2(f, dataset.c_str(), H5P_DEFAULT);
    if (d >= 0) {
        const hid_t space = H5Dget_space(d);
        out.resize(static_cast<std::size_t>(H5Sget_simple_extent_npoints(space)));
        H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data());
        H5Sclose(space);
        H5Dclose(d);
    }
    H5Fclose(f);
    return out;
}

// /table/<name> of a collected.h5: variable-length string columns.
inline std::vector<std::string> read_h5_strings(const std::string& file,
                                                const std::string& dataset) {
    std::vector<std::string> out;
    const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        return out;
    }
    const hid_t d = H5Dopen2(f, dataset.c_str(), H5P_DEFAULT);
    if (d >= 0) {
        const hid_t space = H5Dget_space(d);
        std::vector<char*> ptrs(static_cast<std::size_t>(H5Sget_simple_extent_npoints(space)));
        const hid_t type = H5Tcopy(H5T_C_S1);
        H5Tset_size(type, H5T_VARIABLE);
        H5Tset_cset(type, H5T_CSET_UTF8);
        if (H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) >= 0) {
            for (char* p: ptrs) {
                out.emplace_back(p == nullptr ? "" : p);
            }
            H5Dvlen_reclaim(type, space, H5P_DEFAULT, ptrs.data());
        }
        H5Tclose(type);
        H5Sclose(space);
        H5Dclose(d);
    }
    H5Fclose(f);
    return out;
}

}  // namespace glia::test
