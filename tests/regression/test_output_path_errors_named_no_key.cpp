// Bug (hostile-input testing): a run whose output path could not be written (a read-only
// directory, /dev/null, a directory, a file name too long) or whose dataset directory was
// missing said what failed but not which setting, nor where it was given; a too-long file name
// was found only by HDF5, after its parent directory had been created. Now every such error
// names the key (output.file, protocol.dataset.path) and where the value came from
// (file:line:col, --set, -o), and is found before anything is created.

#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli_harness.hpp"

namespace {

using testing::HasSubstr;

class output_path_errors_named_no_key: public glia::test::scratch_test {
protected:
    output_path_errors_named_no_key(): scratch_test("regression") {}

    // configs/cuba.yaml with its output.file (line 49, column 9) set to `out`.
    std::string cuba_writing_to(const std::string& out) {
        std::ifstream in(std::string(GLIA_SOURCE_DIR) + "/configs/cuba.yaml");
        std::stringstream text;
        text << in.rdbuf();
        std::string s = text.str();
        const std::string old = "file: results/cuba.h5";
        s.replace(s.find(old), old.size(), "file: " + out);
        return write("cuba.yaml", s);
    }
};

TEST_F(output_path_errors_named_no_key, output_errors_name_the_key_and_its_location) {
    const std::string long_name = path("new_dir/" + std::string(300, 'a') + ".h5");
    const std::pair<std::string, std::string> cases[] = {
        {"/dev/null", "cannot write output file '/dev/null': it exists and is not a regular file"},
        {dir_.string(), "cannot write output file '" + dir_.string() + "': it is a directory"},
        {long_name, "is 303 bytes long; file names are at most 255 bytes"},
    };
    for (const auto& [out, message]: cases) {
        const std::string cfg = cuba_writing_to(out);
        const auto r = glia::test::run_glia("run --no-progress " + cfg);
        EXPECT_EQ(r.code, 1) << r.out;
        EXPECT_THAT(r.out, HasSubstr(cfg + ":49:9: output.file: ")) << r.out;
        EXPECT_THAT(r.out, HasSubstr(message));
    }
    EXPECT_FALSE(std::filesystem::exists(path("new_dir")));  // nothing was created
    const auto o = glia::test::run_glia("run --no-progress " + cuba_writing_to("x.h5") +
                                        " -o /dev/null");
    EXPECT_EQ(o.code, 1) << o.out;
    EXPECT_THAT(o.out, HasSubstr("-o /dev/null: output.file: cannot write output file"));
}

TEST_F(output_path_errors_named_no_key, a_read_only_directory_is_named) {
    const std::string ro = path("ro");
    std::filesystem::create_directories(ro);
    if (geteuid() != 0 || ::mount("tmpfs", ro.c_str(), "tmpfs", MS_RDONLY, "size=64k") != 0) {
        GTEST_SKIP() << "cannot mount a read-only tmpfs (needs root and mount rights)";
    }
    const auto r = glia::test::run_glia("run --no-progress " + cuba_writing_to(ro + "/x.h5"));
    ::umount2(ro.c_str(), MNT_DETACH);
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_THAT(r.out, HasSubstr(":49:9: output.file: cannot write output file '" + ro +
                                 "/x.h5': directory '" + ro +
                                 "' does not accept new files (Read-only file system)"));
}

TEST_F(output_path_errors_named_no_key, a_missing_dataset_directory_is_named) {
    const std::string out = path("tiny.h5");
    const auto r = glia::test::run_glia("run --no-progress " + std::string(GLIA_SOURCE_DIR) +
                                        "/configs/nalsm_tiny.yaml -o " + out +
                                        " --set protocol.dataset.path=" + path("none"));
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_THAT(r.out, HasSubstr("--set protocol.dataset.path=" + path("none") +
                                 ": protocol.dataset.path: '" + path("none") +
                                 "' does not exist; it must be the directory of the four "
                                 "official IDX files"));
    EXPECT_FALSE(std::filesystem::exists(out));
    const auto e = glia::test::run_glia("run --no-progress " + std::string(GLIA_SOURCE_DIR) +
                                        "/configs/nalsm_tiny.yaml -o " + out +
                                        " --set protocol.dataset.path=" + dir_.string());
    EXPECT_EQ(e.code, 1) << e.out;
    EXPECT_THAT(e.out, HasSubstr("' has no train-images-idx3-ubyte (nor "
                                 "train-images-idx3-ubyte.gz)"));
    EXPECT_FALSE(std::filesystem::exists(out));
}

}  // namespace
