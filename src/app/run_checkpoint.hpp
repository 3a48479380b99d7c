#pragma once
// Checkpoint and resume of `glia run` for network experiments (docs/output_format.md,
// "Checkpoints"). cmd_run (main.cpp) calls it at four places:
//
//   glia::app::run_checkpoint checkpoint(spec, mode, log);        // output path known
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
//
// Whether a run resumes: `glia run --resume` must (resume_mode::required: a checkpoint that
// is missing or does not fit is an error); a sweep point (`glia run FILE --point K`, which
// `glia sweep --local` and the SLURM array tasks run) resumes when it can
// (resume_mode::if_resumable): when <output>.ckpt exists, is intact, was written by this glia
// version for the point's current resolved config, and the output it continues is there,
// made from that config and not complete. Otherwise the point runs from its start, with a
// warning saying why when a checkpoint was there (it is then removed when the output is
// opened anew, as by any fresh run).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <spdlog/logger.h>

#include <glia/simulation.hpp>
#include <glia/spec.hpp>

#include "io/checkpoint_file.hpp"
#include "io/hdf5_writer.hpp"

namespace glia::app {

enum class resume_mode {
    fresh,          // write the output anew (a checkpoint next to it is removed)
    required,       // --resume: continue from the checkpoint; glia::error if it cannot
    if_resumable,   // a sweep point: continue from the checkpoint if it fits, else fresh
};

class run_checkpoint {
public:
    // required / if_resumable: reads and checks the checkpoint's header now, before the network
    // is built. required throws glia::error when it is missing, damaged, or of another
    // experiment or glia; if_resumable then runs fresh (see not_resumed()).
    run_checkpoint(const experiment_spec& spec, resume_mode mode,
                   std::shared_ptr<spdlog::logger> log);

    bool resuming() const { return resume_; }
    const std::string& path() const { return path_; }
    // Resuming: the step the run continues from.
    std::int64_t resume_step() const { return header_.info.step; }
    // if_resumable with a checkpoint present that was not taken: why ("" otherwise).
    const std::string& not_resumed() const { return not_resumed_; }

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
    // if_resumable: the output the checkpoint continues exists, holds this experiment and is
    // not complete; throws glia::error saying what is wrong.
    void check_output() const;

    const experiment_spec& spec_;
    bool resume_;
    std::shared_ptr<spdlog::logger> log_;
    std::string path_;
    io::checkpoint_identity identity_;
    io::checkpoint_header header_;
    std::string not_resumed_;
};

}  // namespace glia::app
