#pragma once
// experiment_spec: what to simulate, as plain data in canonical units (ms, mV, pA, nS, pF, Hz).
// It holds no YAML and no engine types. src/io fills it from a file; the network builder lowers
// it into a runnable network. Every element remembers where it came from ("file:line:col") so
// that errors found later, while building, still point into the file.

#include <array>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <glia/types.hpp>
#include <glia/units.hpp>

namespace glia {

inline constexpr double infinity = std::numeric_limits<double>::infinity();

// A value given per element (neuron, synapse): a constant, a distribution or an explicit list.
struct value_spec {
    enum class kind { constant, uniform, normal, lognormal, list, choice };
    kind type = kind::constant;
    double value = 0;                 // constant
    double low = 0, high = 0;         // uniform on [low, high)
    double mean = 0, std = 0;         // normal: mean and standard deviation
    double mu = 0, sigma = 0;         // lognormal: mean and sd of log(x)
    double min = -infinity;           // normal / lognormal: draws outside [min, max] are redrawn
    double max = infinity;
    std::vector<double> values;       // list: one value per element, in canonical order;
                                      // choice: each element one of these, equally likely
    dimension dim = dimension::none;  // the dimension the user wrote; none for a bare number
    std::string where;                // "file:line:col" of the value, for messages

    static value_spec constant_of(double v, dimension d = dimension::none) {
        value_spec s;
        s.value = v;
        s.dim = d;
        return s;
    }
    bool is_constant() const { return type == kind::constant; }
};

struct simulation_spec {
    double dt = 0.1;           // [ms]
    double duration = 1000.0;  // [ms]
    std::uint64_t seed = 1;    // the master seed: the only source of randomness
    int threads = 0;           // 0: as many as oneTBB finds
    int partitions = 0;        // 0: derived from the thread count
    std::string where;
};

// Homeostatic E/I balance: every neuron scales its excitatory input by g_E and its
// inhibitory input by g_I; every `interval`, with the relative rate error e = (target - r) /
// target of an exponentially filtered rate r (time constant tau), g_E *= exp(eta e) and
// g_I *= exp(-eta e), within [g_min, g_max].
struct homeostasis_spec {
    bool enabled = false;
    value_spec target_rate;  // [Hz] per neuron (a constant, a distribution or a list)
    double tau = 1000.0;     // [ms] of the rate estimate
    double eta = 0.1;        // gain change per unit relative error and update
    double interval = 10.0;  // [ms] between gain updates
    double g_min = 0.0;
    double g_max = 10.0;
    std::string where;
};

// A point in space [the length unit of the config: positions, spacing and `lambda` share it].
struct position {
    double x = 0, y = 0, z = 0;
};

inline constexpr std::uint64_t max_grid_points = 0xffffffffULL;  // point indices are 32-bit

// A lattice of points that populations take their positions from (NALSM's liquid, science-spec
// §1.1). Point q = (i d2 + j) d3 + k lies at (i, j, k) * spacing. In `lattice` order the
// points come in q order; in `random` order they are permuted (a Fisher-Yates shuffle drawn
// from the stream `positions`, entity: the grid's index in file order), so that populations
// sharing the grid are mixed in space at random.
struct grid_spec {
    std::string name;
    std::array<std::uint64_t, 3> shape{1, 1, 1};  // d1, d2, d3 >= 1; at most max_grid_points
    double spacing = 1.0;                         // > 0
    bool random = false;                          // order: random
    std::string where;
};

struct population_spec {
    std::string name;
    std::string model;  // canonical model name (aliases resolved by the loader)
    std::size_t size = 0;
    std::map<std::string, value_spec> params;   // canonical parameter names
    std::map<std::string, value_spec> initial;  // initial values of state variables
    std::vector<std::vector<double>> spike_times;  // spike_source_array: per neuron [ms]
    bool allow_offgrid_times = false;              // spike_source_array: round times to the grid
    // How the engine advances the neurons: "clock" every step; "lazy" only in steps with
    // input (models solved exactly between inputs, e.g. iaf_psc_delta); "auto" lazy where the
    // model allows it and no device drives every neuron every step.
    std::string update = "auto";
    homeostasis_spec homeostasis;
    // Positions in space, for distance-dependent connectivity: the next `size` points of a
    // grid (populations naming one grid take consecutive ranges of its point sequence, in file
    // order), or one explicit position per neuron. Neither: the population has no positions.
    std::string grid;
    std::vector<position> positions;
    std::string where;
};

struct edge_spec {
    neuron_id source = 0;  // population-local ids
    neuron_id target = 0;
    double weight = std::numeric_limits<double>::quiet_NaN();  // NaN: the projection's weight
    double delay = std::numeric_limits<double>::quiet_NaN();   // NaN: the projection's delay
};

struct connectivity_spec {
    enum class rule {
        all_to_all,
        one_to_one,
        pairwise_bernoulli,
        fixed_indegree,
        fixed_outdegree,
        fixed_total_number,
        from_list,
        distance,
    };
    rule type = rule::all_to_all;
    double p = 0;                 // pairwise_bernoulli
    std::uint64_t n = 0;          // fixed_indegree / fixed_outdegree / fixed_total_number
    bool allow_autapses = true;   // NEST defaults
    bool allow_multapses = true;
    std::vector<edge_spec> edges;  // from_list
    // distance: P(s -> t) = C exp(-(D / lambda)^2), D the Euclidean distance of their
    // positions; lambda in the length unit of the positions.
    double C = 0;
    double lambda = 0;
    // fixed_total_number: with density >= 0, n = floor(density |S| |T|) (computed in double,
    // left to right) instead of `n`. Projections with the same non-empty `group` (same source,
    // rule parameters and allow_multapses) draw one sequence of pairs over the concatenation
    // of their targets (file order); each keeps the pairs that fall on its own target, and n
    // counts the pairs of the whole group (|T| is then the sum of the targets' sizes).
    double density = -1;
    std::string group;
};

// NEST's TripartiteConnect with third_factor_bernoulli_with_pool (science-spec §6.3): each
// connection S -> T of the projection is paired, with probability p, with one astrocyte a
// drawn uniformly from T's pool; the pair adds S -> a (third_in: a spike synapse onto a's
// ip3 port) and a -> T (third_out: a sic connection). Pools: `random` (pool_size astrocytes
// per target, drawn without replacement, keyed by the astrocyte population and the target)
// or `block` (pool_size 1: consecutive blocks of |T|/|A| targets share one astrocyte;
// pool_size k > 1: target t owns astrocytes [t k, t k + k), needing |T| k == |A|).
struct tripartite_spec {
    bool enabled = false;
    std::string astrocytes;     // population name (a model with graded output)
    double p = 1.0;             // pairing probability per connection (NEST default 1)
    enum class pool { random, block };
    pool pool_type = pool::random;
    std::uint64_t pool_size = 0;  // 0: the astrocyte population's size (NEST's default)
    // third_in: weight onto the astrocyte's port (ip3: a plain number >= 0) and delay [ms];
    // third_out: the sic weight (a plain number) and delay [ms]. Constants or distributions
    // (no lists). A delay left NaN takes the projection's delay.
    value_spec in_weight = value_spec::constant_of(1.0);
    value_spec in_delay = value_spec::constant_of(std::numeric_limits<double>::quiet_NaN());
    value_spec out_weight = value_spec::constant_of(1.0);
    value_spec out_delay = value_spec::constant_of(std::numeric_limits<double>::quiet_NaN());
    std::string where;
};

struct projection_spec {
    std::string name;
    std::string source;  // population names
    std::string target;
    connectivity_spec connectivity;
    value_spec weight;  // units of the target port: mV (delta), pA (current), nS (conductance)
    value_spec delay;   // [ms]
    std::string receptor;  // target port name; empty: chosen by the sign of the weight
    // A synapse model: static, sic (graded coupling: the target receives weight * the
    // source's graded output, e.g. an astrocyte's SIC [pA], as current after `delay`; the
    // weight is a plain number) or a plasticity rule.
    std::string synapse = "static";
    std::map<std::string, value_spec> plasticity;  // the rule's parameters (canonical units)
    std::string modulator;  // three-factor rules: the name of a modulator
    tripartite_spec tripartite;
    std::string where;
};

// A neuromodulator: a registered modulator model (include/glia/modulator.hpp), e.g.
// volume_transmitter (NEST's: the spikes of a population or a scripted signal, for three-factor
// rules) or nalsm_astrocyte (NALSM's astrocyte, for astro_stdp).
struct modulator_spec {
    std::string name;
    std::string type = "volume_transmitter";      // canonical model name
    std::map<std::string, value_spec> params;     // canonical units; lists for components > 1
    std::map<std::string, std::vector<std::string>> roles;  // role -> population names
    std::vector<double> times;    // scripted events [ms] (models that take events)
    std::vector<double> amounts;
    std::string where;
};

// Devices that act on neurons without being neurons (NEST's generators), and the trial inputs
// of protocols.
struct input_spec {
    enum class kind {
        poisson_generator,
        dc_generator,
        step_current_generator,
        noise_generator,
        // One target neuron per value of a dataset sample (a pixel): per trial, each neuron
        // gets events of `weight` with a probability per step set by the protocol from the
        // sample (include/glia/trial.hpp). In a plain run it sends nothing.
        dataset_source,
    };
    std::string name;
    kind type = kind::poisson_generator;
    std::string target;              // population name
    std::vector<neuron_id> neurons;  // population-local ids; empty: all
    double rate = 0;                 // poisson_generator: rate per target neuron [Hz]
    double weight = 0;               // poisson_generator: weight of each event (target port units)
    dimension weight_dim = dimension::none;
    std::string receptor;            // poisson_generator: port name; empty: by sign
    double amplitude = 0;            // dc_generator [pA]
    double mean = 0, std = 0;        // noise_generator: per-step Gaussian current [pA]
    std::vector<double> times;       // step_current_generator: switch times [ms]
    std::vector<double> amplitudes;  // step_current_generator: amplitude from each time on [pA]
    // dataset_source: how a protocol turns a sample into event probabilities per step:
    // "nalsm" (NALSM's p = (x / sum x) / R, R the largest x / sum x over the set) or "rate"
    // (x / 255 * max_rate * dt: the brightest 8-bit value fires at max_rate).
    std::string encoding = "nalsm";
    double max_rate = 0;             // dataset_source with encoding rate [Hz]
    double start = 0;                // active on [start, stop) [ms]
    double stop = infinity;
    std::string where;
};

struct report_spec {
    std::string name;  // default "<population>.<variable>"
    std::string population;
    std::string variable;
    std::vector<neuron_id> neurons;  // population-local ids; empty: all
    double start = 0;                // [ms]
    double stop = infinity;          // [ms], clamped to the duration
    double interval = 0;             // [ms]; 0: every step
    std::string where;
};

// Snapshots of a plastic projection's weights: at start, start + interval, ... up to
// min(stop, duration) inclusive (the last one is the state after the run).
struct weight_record_spec {
    std::string projection;
    double interval = 1000.0;  // [ms]
    double start = 0;          // [ms]
    double stop = infinity;    // [ms]
    std::string where;
};

struct record_spec {
    std::vector<std::string> spikes;  // populations whose spikes are written
    std::vector<report_spec> reports;
    std::vector<weight_record_spec> weights;
};

struct output_spec {
    std::string path;              // HDF5 file; empty: nothing is written
    double flush_interval = 5.0;   // [s] of wall time between flushes to disk
    std::string where;
    std::string file_where;        // where the file name was given (the output map if defaulted)
};

// The branching factor of a network run (NALSM's definition, science-spec §1.8), computed after
// the run from the chosen populations' spikes and the synapses among them, and written to
// /metrics of the output (src/reservoir/network_branching.hpp). Spikes are counted in bins:
// a spike at time t falls in bin floor(t / bin).
struct branching_factor_spec {
    bool enabled = false;
    std::vector<std::string> populations;  // names, each once, in the order given
    double bin = 1.0;        // [ms] a whole number (>= 1) of steps
    double delta_t = 4.0;    // [ms] look-back and look-ahead (NALSM: 4 ms); a whole number of bins
    double start = 0;        // [ms] spikes at times in [start, stop) count; a multiple of bin
    double stop = infinity;  // [ms] infinity: the end of the run, rounded down to whole bins
    std::string where;
};

// Figures computed from a network run and written to /metrics; the engine never reads them.
struct metrics_spec {
    branching_factor_spec branching_factor;
};

// Where a protocol's samples come from: an image dataset in IDX files (MNIST layout).
struct dataset_spec {
    enum class format { idx_official, idx };
    enum class split_kind { nalsm, fractions };
    format kind = format::idx_official;
    std::string path;    // idx_official: directory with the official train and test files
    std::string images;  // idx: one images file ...
    std::string labels;  // ... and its labels
    std::string path_where, images_where, labels_where;  // where each was given
    split_kind split = split_kind::nalsm;
    std::size_t validation = 10000;  // nalsm split: the last n official training images
    double train_fraction = 0.8;     // fractions split
    double validation_fraction = 0.1;
    // Use only the first n of each part (0: all): quick runs and tests.
    std::size_t limit_train = 0, limit_validation = 0, limit_test = 0;
    std::string where;
};

struct experiment_spec;

// A protocol: how the network is run as a reservoir (src/protocol). `none`: a plain run of
// simulation.duration.
struct protocol_spec {
    enum class kind { none, two_phase, timeseries };
    kind type = kind::none;
    std::string where;

    // two_phase (NALSM's, science-spec §1.6): phase A presents training samples one after
    // another with persistent plasticity; phase B runs every sample from the weights phase A
    // left (W_INI), the features being the spike counts of the state populations.
    std::string input;               // the dataset_source input the samples drive
    std::vector<std::string> state;  // populations whose spikes are the features
    dataset_spec dataset;
    std::size_t phase_a_samples = 50000;
    double phase_a_duration = 20;    // [ms] per presentation
    bool phase_a_shuffle = true;     // random order (seeded); false: the training set in order
    double phase_b_duration = 250;   // [ms] per sample
    std::size_t bins = 0;            // > 0: counts in this many time bins are features too
    std::string final_state;         // a variable whose final value is a feature too ("V_m")
    std::size_t block = 1000;        // phase B samples per block written to the output
    std::size_t branching_samples = 20;  // test samples whose rasters give the branching factor
    // The network of phase B: this one with protocol.phase_b.set applied (NALSM's per-step
    // decays); null when phase_b.set is empty (the same network).
    std::shared_ptr<const experiment_spec> phase_b_network;

    // timeseries (docs/reservoir_tasks.md): a scalar series u(t), each value held
    // step_duration ms as a step current on a random fraction of one population (half with
    // +gain, half -gain); the state after step t is every state neuron's spike train filtered
    // with tau, sampled at the end of the step; a ridge readout per task.
    enum class task_kind { memory_capacity, narma };
    task_kind task = task_kind::memory_capacity;
    std::size_t series_steps = 2000;
    double step_duration = 20;       // [ms]
    std::size_t k_max = 40;          // memory capacity: delays 1..k_max
    std::size_t narma_order = 10;
    std::size_t washout = 100;       // first rows dropped
    double train_fraction = 0.7;     // of the rows after the washout
    double ridge_lambda = 1e-6;
    bool standardize = true;
    std::string input_population;
    double input_fraction = 0.2;
    double gain = 10;                // [pA] per unit of the centred signal
    double bias = 0;                 // [pA]
    double tau = 20;                 // [ms] state filter
    bool save_states = false;
};

// Readouts trained on a protocol's features (src/reservoir/readout.hpp).
struct readout_spec {
    enum class method { softmax, ridge, both };
    enum class feature_set { counts, all };
    method kind = method::both;
    feature_set features = feature_set::counts;
    // softmax (NALSM's): Adadelta on soft targets, test accuracy at the best validation epoch.
    double learning_rate = 0.1, rho = 0.95, epsilon = 1e-8, l2_beta = 5e-10;
    std::size_t batch_size = 250, max_epochs = 1000, patience = 100;
    bool shuffle = true, train_curve = false;
    // ridge classifier: lambdas tried on the validation part.
    std::vector<double> lambdas = {1e-2, 1e-1, 1, 10, 1e2, 1e3, 1e4, 1e5};
    bool ridge_standardize = true;
    std::string where;
};

struct experiment_spec {
    simulation_spec simulation;
    std::vector<grid_spec> grids;              // in file order (the order keys their streams)
    std::vector<population_spec> populations;  // in file order: global ids follow this order
    std::vector<projection_spec> projections;
    std::vector<input_spec> inputs;
    std::vector<modulator_spec> modulators;
    record_spec record;
    output_spec output;
    metrics_spec metrics;
    protocol_spec protocol;
    readout_spec readout;
    std::string source_path;  // the file it was read from
    std::string config_text;  // the resolved config (after --set), as YAML, for provenance
};

}  // namespace glia
