#pragma once
// Small helpers the glia commands share: provenance strings and human-readable durations.

#include <string>

namespace glia::app {

std::string host_name();
std::string now_iso8601();              // local time with its UTC offset
std::string format_duration(double s);  // "12.3 s", "4m05s", "2h10m"; "?" when unknown

}  // namespace glia::app
