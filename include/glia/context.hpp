#pragma once
// Everything the engine needs from outside, passed in, never looked up.

#include <memory>

#include <spdlog/logger.h>

namespace glia {

struct context {
    std::shared_ptr<spdlog::logger> log;  // never null; tests pass a null-sink logger
    int threads = 0;                      // > 0 overrides simulation.threads of the spec
    int partitions = 0;                   // > 0 overrides simulation.partitions of the spec
};

}  // namespace glia
