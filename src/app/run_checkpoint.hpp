#pragma once
// Checkpoint and resume of `glia run` for network experiments (issue 7; docs/output_format.md,
// "Checkpoints"). cmd_run (main.cpp) calls it at four places:
//
//   glia::app::run_checkpoint checkpoint(spec, opt.resume, log);  // output path known
//   glia::simulation sim(spec, models, ctx);
//   checkpoint.restore(sim);                                      // --resume: saved state
//   glia::io::hdf5_sink file_sink(path, prov, checkpoint.sink_options());
//   const auto s = sim.run(out, control);
//   checkpoint.finish(s, sim, [&] { return signals.force(); });  // write or remove it
//
// A run stopped by a signal writes "<output>.ckpt" after closing its output (exit code 3 as
// before); a second signal skips it (or abandons it while it is being written). A run that
// completes removes the checkpoint of its output; so does a fresh (not resumed) run, which
// writes its output anew.

#include <functional>
#include <memory>
#include <string>

#include <spdlog/logger.h>

#include <glia/simulation.hpp>
#include <glia/spec.hpp>

#include "io/checkpoint_file.hpp"
#include "io/hdf5_writer.hpp"

namespace glia::app {

class run_checkpoint {
public:
    // resume: reads and checks the checkpoint's header now, before the network is built;
    // throws glia::error when it is missing, damaged, or of another experiment or glia.
    run_checkpoint(const experiment_spec& spec, bool resume, std::shared_ptr<spdlog::logger> log);

    bool resuming() const { return resume_; }
    const std::string& path() const { return path_; }

    // --resume: loads the saved state into `sim` (freshly built from the same experiment).
    void restore(simulation& sim);

    // How to open the output: resumed runs continue the existing file. A fresh run removes a
    // checkpoint left next to its output (the output is about to be written anew).
    io::hdf5_options sink_options();

    // After the run: interrupted (and not forced) -> writes the checkpoint; completed -> removes
    // it. `forced` (a second signal) is polled while writing, which it abandons.
    void finish(const run_summary& summary, const simulation& sim,
                const std::function<bool()>& forced);

private:
    const experiment_spec& spec_;
    bool resume_;
    std::shared_ptr<spdlog::logger> log_;
    std::string path_;
    io::checkpoint_identity identity_;
    io::checkpoint_header header_;
};

}  // namespace glia::app
