#pragma once
// HDF5 helpers shared by glia's writers (the SONATA writer of network runs, the files of
// protocol runs), beside hdf5_handle.hpp: failures turned into glia::error naming the file,
// property lists, dataspaces, the string type, groups, attributes, small datasets written at
// once, and the attributes of /run that every output file has (status, summary).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <hdf5.h>

#include <glia/recording.hpp>

#include "io/hdf5_handle.hpp"

namespace glia::io::h5 {

// Every HDF5 failure of a writer becomes this error: the file, what we were doing, and
// what HDF5 said.
// A failed write names its cause: "disk full while writing '<file>' (...)" for ENOSPC and
// EDQUOT, else the errno text when HDF5 reports one.
[[noreturn]] void fail(const std::string& file, const std::string& what);

// Files and objects in them that HDF5 still holds open (a file left unclosed after a failed
// write, until the process ends).
std::size_t files_left_open();
// `id`, or fail() if it is negative (HDF5's failure).
hid_t check_id(hid_t id, const std::string& file, const std::string& what);
void check_status(herr_t status, const std::string& file, const std::string& what);

handle plist(hid_t cls, const std::string& file);
handle simple_space(std::span<const hsize_t> dims, std::span<const hsize_t> maxdims,
                    const std::string& file);
handle scalar_space(const std::string& file);
// Variable-length UTF-8 strings, as SONATA's "units" and h5py's str.
handle string_type(const std::string& file);

handle make_group(hid_t loc, const std::string& name, const std::string& file);
// Group `name` of `loc`, created if it does not exist yet.
handle open_or_make_group(hid_t loc, const std::string& name, const std::string& file);

// Replaces attribute `name` of `obj` (if any) with `value`.
void write_attribute(hid_t obj, const std::string& name, hid_t file_type, hid_t space,
                     hid_t mem_type, const void* value, const std::string& file);
// Scalar attributes, replaced like write_attribute's; strings as string_type().
void write_string_attribute(hid_t obj, const std::string& name, const std::string& value,
                            const std::string& file);
void write_u64_attribute(hid_t obj, const std::string& name, std::uint64_t value,
                         const std::string& file);
void write_i64_attribute(hid_t obj, const std::string& name, std::int64_t value,
                         const std::string& file);
void write_f64_attribute(hid_t obj, const std::string& name, double value, const std::string& file);
// Overwrites the value of an existing attribute in place.
void overwrite_attribute(hid_t obj, const std::string& name, hid_t mem_type, const void* value,
                         const std::string& file);

// A small dataset written once (contiguous, or compact: stored in the object header).
handle write_dataset(hid_t loc, const std::string& name, hid_t file_type, hid_t mem_type, hsize_t n,
                     const void* data, bool compact, const std::string& file);
// 1-D datasets written once: strings (string_type()), uint64.
void write_strings(hid_t loc, const std::string& name, const std::vector<std::string>& values,
                   const std::string& file);
void write_u64s(hid_t loc, const std::string& name, const std::vector<std::uint64_t>& values,
                const std::string& file);

// /run@status: a fixed-length string, so that end() overwrites it in place (one object
// header write), never through the global heap as a variable-length string would.
constexpr std::size_t status_length = 16;

// Writes /run@status (`run` is the /run group): `create` replaces the attribute (and creates
// it), else the existing one is overwritten in place.
void write_status(hid_t run, const std::string& status, const std::string& file, bool create);

// The summary attributes of /run, in this order: steps_done (int64), wall_seconds,
// build_seconds (float64 [s]), n_neurons, n_synapses, synaptic_events (uint64), from
// `summary`; each created or replaced.
void write_run_summary(hid_t run, const run_summary& summary, const std::string& file);

// A string attribute of `obj` (variable or fixed length); nullopt if it is absent, not a
// string or cannot be read.
std::optional<std::string> read_string_attribute(hid_t obj, const char* name);

}  // namespace glia::io::h5
