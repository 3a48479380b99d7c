#pragma once
// A NALSM reservoir experiment as a YAML file describes it (`experiment: nalsm`;
// docs/reservoir.md, docs/config_reference.md): the dataset and its split, the liquid, the
// neuron, plasticity and astrocyte parameters, the two-phase protocol, the readouts and the
// output file. Values are in the model's own units (ms steps, dimensionless potentials).
// src/io/reservoir_config.cpp fills it and checks every value; src/app/cmd_reservoir.cpp runs it.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "reservoir/nalsm.hpp"
#include "reservoir/nalsm_protocol.hpp"
#include "reservoir/readout.hpp"

namespace glia::reservoir {

struct dataset_spec {
    enum class format { idx_official, idx };
    enum class split_kind { nalsm, fractions };
    format kind = format::idx_official;
    std::string path;    // idx_official: directory with the official train and test files
    std::string images;  // idx: one images file
    std::string labels;  // idx: its labels file
    split_kind split = split_kind::nalsm;
    std::size_t validation = 10000;  // nalsm split: the last n official train images
    double train_fraction = 0.8;     // fractions split
    double validation_fraction = 0.1;
    // Use only the first n of each part (quick runs, tests).
    std::optional<std::size_t> limit_train, limit_validation, limit_test;
};

struct readout_spec {
    enum class method { softmax, ridge, both };
    enum class feature_set { counts, all };
    method kind = method::both;
    feature_set features = feature_set::counts;
    softmax_params softmax;
    ridge_params ridge;
};

struct nalsm_experiment {
    std::string source_path;  // the YAML file
    std::string config_text;  // its text after --set overrides (provenance)
    std::uint64_t seed = 1;
    int threads = 0;  // 0: all cores
    dataset_spec dataset;
    nalsm::liquid_params liquid;
    nalsm::model_params model;
    nalsm::init_params init;
    nalsm::feature_params features;
    std::size_t block = 1000;  // phase B samples per output block
    readout_spec readout;
    std::size_t branching_samples = 20;  // test samples whose rasters give the branching factor
    std::string output;                  // HDF5 file
};

}  // namespace glia::reservoir
