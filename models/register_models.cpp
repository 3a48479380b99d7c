#include "models/register_models.hpp"

#include "models/astrocyte/astrocyte_lr_1994.hpp"
#include "models/neuron/iaf_cond_exp.hpp"
#include "models/neuron/iaf_psc_delta.hpp"
#include "models/neuron/iaf_psc_exp.hpp"
#include "models/neuron/izhikevich.hpp"
#include "models/neuron/nalsm_lif.hpp"
#include "models/modulator/nalsm_astrocyte.hpp"
#include "models/modulator/volume_transmitter.hpp"
#include "models/source/poisson_source.hpp"
#include "models/source/spike_source_array.hpp"
#include "models/synapse/izhikevich2006.hpp"
#include "models/synapse/astro_stdp.hpp"
#include "models/synapse/stdp.hpp"
#include "models/synapse/stdp_dopamine.hpp"

namespace glia::models {

void register_builtin_models(model_registry& registry) {
    registry.add(iaf_psc_delta_model());
    registry.add(iaf_psc_exp_model());
    registry.add(iaf_cond_exp_model());
    registry.add(izhikevich_model());
    registry.add(nalsm_lif_model());
    registry.add(poisson_source_model());
    registry.add(spike_source_array_model());
    registry.add(astrocyte_lr_1994_model());
    registry.add(stdp_model());
    registry.add(izhikevich2006_model());
    registry.add(stdp_dopamine_model());
    registry.add(astro_stdp_model());
    registry.add(volume_transmitter_model());
    registry.add(nalsm_astrocyte_model());
}

}  // namespace glia::models
