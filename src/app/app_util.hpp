#pragma once
// Small helpers the glia commands share: provenance and human-readable durations.

#include <cstdint>
#include <string>

#include "io/reservoir_output.hpp"

namespace glia::app {

std::string host_name();
std::string now_iso8601();              // local time with its UTC offset
std::string format_duration(double s);  // glia::format_duration (include/glia/text.hpp)

// /run provenance of a reservoir experiment's output file, stamped now.
io::reservoir_provenance provenance_of(const std::string& kind, const std::string& config_text,
                                       const std::string& source_path,
                                       const std::string& command_line, std::uint64_t seed);

}  // namespace glia::app
