#pragma once
// One table of a sweep: a row per point, with the values the sweep varied and what its output
// file says (status, steps, times, spike counts and rates, synaptic events, sizes, and every
// scalar dataset under /metrics). Written as <sweep directory>/collected.csv and
// collected.h5. Points without a complete output keep their row, with the status saying why
// (missing, running-or-killed, interrupted, stale) and empty cells (NaN in HDF5) where the
// file has no value. Columns are described in docs/sweeps.md.

#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "sweep/sweep.hpp"

namespace glia::sweep {

struct column {
    std::string name;                // "populations.exc.params.tau_m", "rate.exc", "status"
    std::string unit;                // canonical unit of a numeric column ("ms", "Hz"), or ""
    bool numeric = true;             // numbers (NaN: no value) or text
    std::vector<double> numbers;     // one per point, when numeric
    std::vector<std::string> texts;  // one per point, when not
};

struct table {
    std::size_t rows = 0;
    std::vector<column> columns;

    const column* find(const std::string& name) const;
};

// The table of `plan`. `configs` (from check_points, or empty to skip the check) recognises
// complete outputs made from an older version of the file (status "stale").
table collect_table(const sweep_plan& plan, const std::vector<std::string>& configs);

// CSV: a header of column names (a numeric column's unit in brackets: "rate.exc [Hz]"), then
// one line per point; numbers in their shortest exact form, no value as an empty cell.
void write_csv(const table& t, const std::filesystem::path& path);

// HDF5: /table/<column name> (float64 with NaN for no value and a `units` attribute, or
// variable-length UTF-8 strings), /table@columns the column names in order, and the root
// attributes `sweep` (the name), `file` and `points`.
void write_hdf5(const table& t, const sweep_plan& plan, const std::filesystem::path& path);

struct collect_summary {
    std::filesystem::path csv, hdf5;
    std::map<std::string, std::size_t> by_status;  // "complete" -> 4, "missing" -> 2
};

// collect_table, then both files into the sweep's directory (created if needed).
collect_summary collect(const sweep_plan& plan, const std::vector<std::string>& configs);

}  // namespace glia::sweep
