#pragma once
// Vocabulary types shared by every layer.

#include <cstdint>

namespace glia {

using step_t = std::int64_t;      // the master clock: whole steps since t = 0
using neuron_id = std::uint32_t;  // global id: populations concatenated in file order

}  // namespace glia
