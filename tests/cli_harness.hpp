#pragma once
// Running the glia executable from integration tests: its exit code and its output (stdout and
// stderr together), and a scratch directory per test. GLIA_EXECUTABLE is the path CMake gives
// the test target.

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

namespace glia::test {

struct cli_result {
    int code = -1;
    std::string out;  // stdout and stderr together
};

inline constexpr const char* fashion_dir = "/usr/share/datasets/fashion-mnist";

// Empty when Fashion-MNIST (Debian's dataset-fashion-mnist) is installed; else why a test that
// needs it cannot run. Missing data is also a failure when GLIA_REQUIRE_DATA=1 (CI):
//   if (const auto why = missing_fashion_mnist(); !why.empty()) GTEST_SKIP() << why;
inline std::string missing_fashion_mnist() {
    if (std::filesystem::exists(std::filesystem::path(fashion_dir) /
                                "train-images-idx3-ubyte.gz")) {
        return {};
    }
    const char* v = std::getenv("GLIA_REQUIRE_DATA");
    if (v != nullptr && std::string(v) == "1") {
        ADD_FAILURE() << "GLIA_REQUIRE_DATA=1 but Fashion-MNIST is not at " << fashion_dir
                      << " (Debian package dataset-fashion-mnist)";
    }
    return std::string("Fashion-MNIST is not installed at ") + fashion_dir;
}

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

// A scratch directory per test, <tmp>/glia_<prefix>_<pid>_<test name>, removed afterwards.
class scratch_test: public testing::Test {
protected:
    explicit scratch_test(std::string prefix = "test"): prefix_(std::move(prefix)) {}

    void SetUp() override {
        const auto* info = testing::UnitTest::GetInstance()->current_test_info();
        dir_ = std::filesystem::temp_directory_path() /
               ("glia_" + prefix_ + "_" + std::to_string(getpid()) + "_" + info->name());
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::string write(const std::string& name, const std::string& text) const {
        const std::filesystem::path p = dir_ / name;
        std::ofstream(p) << text;
        return p.string();
    }
    std::string path(const std::string& name) const { return (dir_ / name).string(); }

    std::filesystem::path dir_;

private:
    std::string prefix_;
};

}  // namespace glia::test
