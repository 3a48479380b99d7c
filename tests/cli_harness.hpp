#pragma once
// Running the glia executable from integration tests: its exit code and its output (stdout and
// stderr together). GLIA_EXECUTABLE is the path CMake gives the test target.

#include <cstdio>
#include <string>

#include <sys/wait.h>

namespace glia::test {

struct cli_result {
    int code = -1;
    std::string out;  // stdout and stderr together
};

// Runs `command` with sh; returns its exit code and output.
inline cli_result run_shell(const std::string& command) {
    cli_result r;
    FILE* p = popen((command + " 2>&1").c_str(), "r");
    if (p == nullptr) {
        return r;
    }
    char buf[4096];
    std::size_t n = 0;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) {
        r.out.append(buf, n);
    }
    const int status = pclose(p);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

inline cli_result run_glia(const std::string& args) {
    return run_shell(std::string(GLIA_EXECUTABLE) + " " + args);
}

}  // namespace glia::test
