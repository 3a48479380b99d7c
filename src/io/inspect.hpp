#pragma once
// `glia inspect FILE`: a human-readable summary of an output file, from its /run record and
// its datasets: how the run ended (a killed or interrupted run is reported INCOMPLETE), its
// provenance, and per population the spikes and mean rate, and the reports.

#include <string>

namespace glia::io {

// Throws glia::error if the file cannot be read or has no /run record.
std::string inspect(const std::string& path);

}  // namespace glia::io
