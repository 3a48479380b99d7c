#pragma once
// Files the user names for glia to read (experiment and sweep files, data files, output files
// to inspect): checked with stat before they are opened, so that a FIFO, a device or a
// directory is refused at once rather than blocking a read or being read as data.

#include <string>
#include <string_view>

namespace glia::io {

// Throws glia::error "cannot open <what> '<path>'" when `path` does not exist, and
// "cannot open <what> '<path>': it is a FIFO (named pipe), not a regular file" (or a
// directory, a device, a socket) when it is not a regular file.
void check_input_file(const std::string& path, std::string_view what);

// The whole content of the regular file `path` (checked as above).
std::string read_input_file(const std::string& path, std::string_view what);

}  // namespace glia::io
