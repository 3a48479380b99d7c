#pragma once
// Checkpoint files (docs/output_format.md, "Checkpoints"): what `glia run` writes next to its
// output when a signal stops it, and what `glia run --resume` reads. The engine writes and
// reads the body (simulation::save_state / load_state); this file adds a header that says
// which experiment and which glia the state belongs to, and checksums.
//
//   offset 0   "GLIACKPT"                          magic, 8 bytes
//          8   u32 format (1), u32 header length H  little-endian
//         16   H bytes of header text, "key: value" lines (UTF-8)
//     16 + H   u64 config length C, C bytes: the resolved experiment (YAML)
//              the body (B bytes)
//   end - 24   u64 B, u32 CRC-32 of the body, u32 CRC-32 of everything before the body,
//              "GLIAEND1"
//
// Written to "<path>.tmp", fsync'ed, then renamed over <path>: a checkpoint on disk is always
// complete; a kill while writing leaves the previous one (if any).

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>

namespace glia::io {

inline constexpr std::uint32_t checkpoint_format = 1;

// What a checkpoint must match to be resumed.
struct checkpoint_identity {
    std::string config_text;  // experiment_spec::config_text: the resolved experiment
    std::string version;      // glia version (must be equal)
    std::string git_hash;     // glia's commit (a difference is reported, not refused)
};

// Written into the header for people and tools (glia inspect); only `step` is read back.
struct checkpoint_info {
    std::int64_t step = 0;  // the run continues from this step
    double time_ms = 0;     // step * dt
    int threads = 0;        // of the run that wrote it (a resume may use others)
    int partitions = 0;
    std::string written;  // ISO 8601 local time
    std::string host;
    std::string output;   // the output file it belongs to
};

struct checkpoint_header {
    std::uint32_t format = 0;
    std::string version, git_hash;
    std::uint64_t config_hash = 0;
    std::string config_text;
    checkpoint_info info;
    std::uint64_t body_offset = 0;  // bytes
    std::uint64_t body_bytes = 0;
    std::uint64_t file_bytes = 0;
};

// The checkpoint of output file `output`: "<output>.ckpt".
std::string checkpoint_path(const std::string& output);

// FNV-1a (64 bit) of the resolved config text, as the header shows it.
std::uint64_t config_hash(const std::string& config_text);

// Writes a checkpoint atomically (see above); `body` writes the engine's state. `cancelled`
// (may be empty) is polled after every MiB written: when it returns true the temporary file
// is removed, any earlier checkpoint stays, and write_checkpoint returns false.
// Throws glia::error("cannot write checkpoint '<path>': ...") on I/O failures.
bool write_checkpoint(const std::string& path, const checkpoint_identity& id,
                      const checkpoint_info& info, const std::function<void(std::ostream&)>& body,
                      const std::function<bool()>& cancelled = {});

// Reads the header and checks the whole file: its structure and both checksums. Throws
// glia::error naming the file and what is wrong (missing, not a checkpoint, damaged).
checkpoint_header read_checkpoint_header(const std::string& path);

// Throws glia::error naming the file and what does not match: another glia version, or
// another experiment (what differs, as key paths with both values, e.g. "simulation.duration
// is '90 s' in the checkpoint and '100 s' now"). Returns a note for the log ("" if none),
// e.g. that the glia commit differs.
std::string check_checkpoint(const std::string& path, const checkpoint_header& header,
                             const checkpoint_identity& id);

// Hands `body` a stream positioned at the start of the body (after read_checkpoint_header).
void read_checkpoint_body(const std::string& path, const checkpoint_header& header,
                          const std::function<void(std::istream&)>& body);

}  // namespace glia::io
