#include "app/app_util.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <cmath>
#include <ctime>
#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <glia/error.hpp>
#include <glia/text.hpp>
#include <glia/version_info.hpp>

#include "io/hdf5_writer.hpp"
#include "io/input_file.hpp"
#include "sweep/local_executor.hpp"

namespace glia::app {

std::string host_name() {
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) != 0) {
        return "unknown";
    }
    return buf;
}

std::string now_iso8601() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    localtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S%z", &tm);
    return buf;
}

std::string format_duration(double s) {
    return glia::format_duration(s);
}

io::reservoir_provenance provenance_of(const std::string& kind, const std::string& config_text,
                                       const std::string& source_path,
                                       const std::string& command_line, std::uint64_t seed) {
    io::reservoir_provenance p;
    p.kind = kind;
    p.config_text = config_text;
    p.source_path = source_path;
    p.version = version_string;
    p.git_hash = git_hash;
    p.host = host_name();
    p.command_line = command_line;
    p.started = now_iso8601();
    p.seed = seed;
    return p;
}

std::unique_ptr<runtime::monitor> start_monitor(const runtime::monitor_options& options,
                                                std::atomic<bool>& stop, spdlog::logger& log) {
    auto m = std::make_unique<runtime::monitor>(options, &stop);
    log.info("monitor: {} (stop token: {})", m->url(), m->token());
    if (!m->loopback()) {
        log.warn("monitor: {} is not a loopback address: whoever reaches it sees the run",
                 options.host);
    }
    return m;
}

namespace {

std::string located_at(const std::string& where) {
    return where.empty() ? "" : where + ": ";
}

}  // namespace

void check_output_file(const std::string& path, const std::string& where,
                       const std::string& key) {
    try {
        io::check_writable(path);
    }
    catch (const error& e) {
        throw error(located_at(where) + key + ": " + e.what());
    }
}

void check_dataset_files(const dataset_spec& d) {
    namespace fs = std::filesystem;
    const auto check_file = [](const std::string& file, const std::string& where,
                               const std::string& key) {
        try {
            io::check_input_file(file, "dataset file");
        }
        catch (const error& e) {
            throw error(located_at(where) + key + ": " + e.what());
        }
    };
    if (d.kind == dataset_spec::format::idx) {
        check_file(d.images, d.images_where, "protocol.dataset.images");
        check_file(d.labels, d.labels_where, "protocol.dataset.labels");
        return;
    }
    const std::string at = located_at(d.path_where) + "protocol.dataset.path: ";
    std::error_code ec;
    if (!fs::is_directory(d.path, ec)) {
        throw error(fmt::format("{}'{}' {}; it must be the directory of the four official IDX "
                                "files",
                                at, printable(d.path),
                                fs::exists(d.path, ec) ? "is not a directory" : "does not exist"));
    }
    for (const char* name: {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                            "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}) {
        const fs::path plain = fs::path(d.path) / name;
        if (!fs::exists(plain, ec) && !fs::exists(plain.string() + ".gz", ec)) {
            throw error(fmt::format("{}'{}' has no {} (nor {}.gz)", at, printable(d.path), name,
                                    name));
        }
    }
}

void follow_sweep() {
    const char* value = std::getenv(sweep::sweep_pid_variable);
    if (value == nullptr || *value == '\0') {
        return;
    }
    char* end = nullptr;
    const long sweep = std::strtol(value, &end, 10);
    if (*end != '\0' || sweep <= 1) {
        throw error(fmt::format("{} = '{}' is not the pid of a sweep", sweep::sweep_pid_variable,
                                printable(value)));
    }
    // The sweep may have ended already.
    if (static_cast<long>(getppid()) != sweep) {
        throw error(fmt::format("the sweep that started this point (pid {}) has ended", sweep));
    }
    // A watcher, not PR_SET_PDEATHSIG (which would signal every thread): once the parent is
    // another process, the sweep is gone; one SIGTERM stops the run as Ctrl-C would.
    std::thread([sweep] {
        while (static_cast<long>(getppid()) == sweep) {
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
        ::kill(getpid(), SIGTERM);
    }).detach();
}

point_lock::point_lock(const std::string& output) {
    const std::string path = output + ".lock";
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) {
        throw error(fmt::format("cannot create the lock file '{}' of this point's output: {}",
                                path, std::strerror(errno)));
    }
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        ::close(fd_);
        fd_ = -1;
        if (err == EWOULDBLOCK) {
            throw error(fmt::format("'{}' is being written by another run of this point (it "
                                    "holds '{}'); wait for it or stop it first",
                                    output, path));
        }
        // A file system without locks (ENOLCK, EOPNOTSUPP on some network mounts): the run
        // goes on unlocked rather than not at all.
    }
}

point_lock::~point_lock() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

}  // namespace glia::app
