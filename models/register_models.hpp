#pragma once

#include <glia/model_registry.hpp>

namespace glia::models {

// The one list of built-in models.
void register_builtin_models(model_registry& registry);

}  // namespace glia::models
