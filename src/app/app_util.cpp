#include "app/app_util.hpp"

#include <unistd.h>

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

}  // namespace glia::app
