#pragma once
// iaf_psc_exp: leaky integrate-and-fire neuron with exponentially decaying synaptic currents,
// integrated exactly (NEST iaf_psc_exp). Equations, parameters and sources:
// docs/models/iaf_psc_exp.md.

#include <glia/model.hpp>

namespace glia::models {

neuron_model iaf_psc_exp_model();

// The propagator from a synaptic current to the membrane potential over one step h [ms]:
//   P21 = 1/C_m * integral_0^h exp(-(h - s)/tau_m) exp(-s/tau_syn) ds                [mV/pA]
//       = h/C_m * exp(-h/tau_m) * (1 - exp(-h d)) / (h d),  d = 1/tau_syn - 1/tau_m,
// finite and smooth through tau_syn == tau_m (where it is h/C_m exp(-h/tau_m)).
double psc_exp_propagator(double h, double tau_syn, double tau_m, double C_m);

}  // namespace glia::models
