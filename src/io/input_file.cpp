#include "io/input_file.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <glia/error.hpp>

namespace glia::io {

namespace fs = std::filesystem;

void check_input_file(const std::string& path, std::string_view what) {
    const std::string cannot = "cannot open " + std::string(what) + " '" + path + "'";
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (ec || !fs::exists(st)) {
        throw error(cannot);
    }
    switch (st.type()) {
    case fs::file_type::regular:
        return;
    case fs::file_type::directory:
        throw error(cannot + ": it is a directory, not a regular file");
    case fs::file_type::fifo:
        throw error(cannot + ": it is a FIFO (named pipe), not a regular file");
    case fs::file_type::character:
    case fs::file_type::block:
        throw error(cannot + ": it is a device, not a regular file");
    case fs::file_type::socket:
        throw error(cannot + ": it is a socket, not a regular file");
    default:
        throw error(cannot + ": it is not a regular file");
    }
}

std::string read_input_file(const std::string& path, std::string_view what) {
    check_input_file(path, what);
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw error("cannot open " + std::string(what) + " '" + path + "'");
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace glia::io
