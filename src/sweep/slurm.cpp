#include "sweep/slurm.hpp"

#include <cstdio>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include <glia/error.hpp>

#include <sys/wait.h>

namespace glia::sweep {
namespace {

// A word for bash, in single quotes: nothing inside is expanded.
std::string quoted(const std::string& s) {
    std::string out = "'";
    for (const char c: s) {
        if (c == '\'') {
            out += "'\\''";
        } else {
            out += c;
        }
    }
    return out + "'";
}

std::vector<std::string> words(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string w; in >> w;) {
        out.push_back(w);
    }
    return out;
}

}  // namespace

std::string array_ranges(const std::vector<std::size_t>& points) {
    std::string out;
    for (std::size_t i = 0; i < points.size();) {
        std::size_t j = i;
        while (j + 1 < points.size() && points[j + 1] == points[j] + 1) {
            ++j;
        }
        if (!out.empty()) {
            out += ',';
        }
        out += j == i ? std::to_string(points[i]) : fmt::format("{}-{}", points[i], points[j]);
        i = j + 1;
    }
    return out;
}

std::string sbatch_script(const sweep_plan& plan, const std::vector<std::size_t>& points,
                          const slurm_options& options) {
    if (points.empty()) {
        throw internal_error("sbatch_script: no points");
    }
    const std::filesystem::path dir = std::filesystem::absolute(plan.directory);
    const std::string file = std::filesystem::absolute(plan.file).string();
    std::string s;
    s += "#!/bin/bash\n";
    s += fmt::format("# glia sweep '{}': {} of the {} points of {}, written by `glia sweep "
                     "--slurm`.\n",
                     plan.name, points.size(), plan.points.size(), file);
    s += "# One array task per point; task K runs point K. Submit with: sbatch <this file>\n";
    s += fmt::format("#SBATCH --job-name=glia-{}\n", plan.name);
    s += fmt::format("#SBATCH --array={}{}\n", array_ranges(points),
                     options.array_limit > 0 ? fmt::format("%{}", options.array_limit) : "");
    s += fmt::format("#SBATCH --output={}\n", (dir / "slurm" / "%A_%a.out").string());
    s += fmt::format("#SBATCH --cpus-per-task={}\n", options.cpus_per_task);
    s += fmt::format("#SBATCH --signal=B:USR1@{}\n", options.signal_seconds);
    s += "#SBATCH --requeue\n";           // preempted, or a node lost: the task runs again
    s += "#SBATCH --open-mode=append\n";  // and its log keeps what the earlier part wrote
    s += fmt::format("#SBATCH --chdir={}\n", options.work_dir);
    if (!options.partition.empty()) {
        s += fmt::format("#SBATCH --partition={}\n", options.partition);
    }
    if (!options.time.empty()) {
        s += fmt::format("#SBATCH --time={}\n", options.time);
    }
    if (!options.mem.empty()) {
        s += fmt::format("#SBATCH --mem={}\n", options.mem);
    }
    if (!options.account.empty()) {
        s += fmt::format("#SBATCH --account={}\n", options.account);
    }
    for (const auto& e: options.extra) {
        for (const auto& w: words(e)) {
            s += fmt::format("#SBATCH {}\n", w);
        }
    }
    s += fmt::format(
        "\n"
        "# SLURM sends USR1 to this batch shell {} s before the time limit (B:), and SIGTERM\n"
        "# when it preempts the task. `exec` makes glia that shell, so glia receives them: it\n"
        "# stops at the end of its current epoch, flushes its output, writes the checkpoint\n"
        "# <output>.ckpt and exits with code 3 (status \"interrupted\"). `glia run --point K`\n"
        "# continues from that checkpoint: a requeued task (--requeue: preemption, a lost\n"
        "# node, scontrol requeue) at once, a point stopped at its time limit when the next\n"
        "# `glia sweep FILE --slurm --submit` (or --local) runs it again. Complete points are\n"
        "# skipped.\n",
        options.signal_seconds);
    s += fmt::format("exec {} run {} --point \"$SLURM_ARRAY_TASK_ID\" --threads "
                     "\"${{SLURM_CPUS_PER_TASK:-1}}\" --no-progress\n",
                     quoted(options.executable), quoted(file));
    return s;
}

std::filesystem::path write_sbatch_script(const sweep_plan& plan,
                                          const std::vector<std::size_t>& points,
                                          const slurm_options& options) {
    const std::filesystem::path dir = std::filesystem::absolute(plan.directory);
    std::filesystem::create_directories(dir / "slurm");
    std::filesystem::path path = dir / (plan.name + ".sbatch");
    std::ofstream out(path);
    out << sbatch_script(plan, points, options);
    out.close();
    if (!out) {
        throw error(fmt::format("cannot write the sbatch script '{}'", path.string()));
    }
    return path;
}

std::string submit_sbatch(const std::filesystem::path& script) {
    const std::string cmd = "sbatch --parsable " + quoted(script.string()) + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    if (p == nullptr) {
        throw error("cannot run sbatch");
    }
    std::string out;
    char buf[512];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) {
        out.append(buf, n);
    }
    const int status = pclose(p);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == ' ')) {
        out.pop_back();
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        throw error(fmt::format("sbatch {} failed{}: {}", script.string(),
                                code == 127 ? " (is SLURM installed? sbatch was not found)" : "",
                                out.empty() ? fmt::format("exit code {}", code) : out));
    }
    // --parsable prints "jobid" or "jobid;cluster", possibly after warnings on earlier lines.
    const auto line_start = out.rfind('\n');
    std::string id = line_start == std::string::npos ? out : out.substr(line_start + 1);
    id = id.substr(0, id.find(';'));
    if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos) {
        throw error(fmt::format("sbatch {}: unexpected answer '{}'", script.string(), out));
    }
    return id;
}

}  // namespace glia::sweep
