// IDX datasets (src/reservoir/dataset.hpp): round trips through raw and gzip files, the byte
// layout of the format, every error message, the splits, and the real Fashion-MNIST and
// mnist-10k files (skipped when absent).

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <glia/error.hpp>

#include "reservoir/dataset.hpp"

#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using glia::reservoir::image_set;
using testing::HasSubstr;

class dataset_files: public testing::Test {
protected:
    void SetUp() override {
        const auto* info = testing::UnitTest::GetInstance()->current_test_info();
        dir_ = fs::temp_directory_path() /
               ("glia_dataset_" + std::to_string(getpid()) + "_" + info->name());
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    fs::path path(const std::string& name) const { return dir_ / name; }

    void write(const std::string& name, const std::vector<std::uint8_t>& bytes) const {
        std::ofstream f(path(name), std::ios::binary);
        f.write(reinterpret_cast<const char*>(bytes.data()),
                static_cast<std::streamsize>(bytes.size()));
    }
    std::vector<std::uint8_t> read(const std::string& name) const {
        std::ifstream f(path(name), std::ios::binary);
        return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
    }

    fs::path dir_;
};

// 3 images of 2 x 3 pixels, labels 2, 0, 2.
image_set small_set() {
    image_set s;
    s.n = 3;
    s.rows = 2;
    s.cols = 3;
    for (int i = 0; i < 18; ++i) {
        s.pixels.push_back(static_cast<std::uint8_t>(i * 14 + 1));
    }
    s.labels = {2, 0, 2};
    return s;
}

// IDX bytes written by hand: magic, dims (big-endian), data.
std::vector<std::uint8_t> idx_bytes(std::uint32_t magic, std::vector<std::uint32_t> dims,
                                    std::vector<std::uint8_t> data) {
    std::vector<std::uint8_t> out;
    auto be = [&](std::uint32_t v) {
        out.push_back(static_cast<std::uint8_t>(v >> 24));
        out.push_back(static_cast<std::uint8_t>(v >> 16));
        out.push_back(static_cast<std::uint8_t>(v >> 8));
        out.push_back(static_cast<std::uint8_t>(v));
    };
    be(magic);
    for (auto d: dims) {
        be(d);
    }
    out.insert(out.end(), data.begin(), data.end());
    return out;
}

void expect_equal_sets(const image_set& a, const image_set& b) {
    EXPECT_EQ(a.n, b.n);
    EXPECT_EQ(a.rows, b.rows);
    EXPECT_EQ(a.cols, b.cols);
    EXPECT_EQ(a.pixels, b.pixels);
    EXPECT_EQ(a.labels, b.labels);
}

template <typename F>
void expect_error(F&& f, const std::string& part1, const std::string& part2 = "") {
    try {
        f();
        ADD_FAILURE() << "no glia::error thrown; expected one saying '" << part1 << "'";
    }
    catch (const glia::error& e) {
        EXPECT_THAT(e.what(), HasSubstr(part1));
        EXPECT_THAT(e.what(), HasSubstr(part2));
    }
}

TEST_F(dataset_files, reads_hand_written_big_endian_idx) {
    const image_set s = small_set();
    write("img", idx_bytes(2051, {3, 2, 3}, s.pixels));
    write("lab", idx_bytes(2049, {3}, s.labels));
    expect_equal_sets(glia::reservoir::load_idx(path("img"), path("lab")), s);
}

TEST_F(dataset_files, round_trips_raw_and_gzip_files) {
    const image_set s = small_set();
    glia::reservoir::save_idx(s, path("img"), path("lab"), false);
    glia::reservoir::save_idx(s, path("img.gz"), path("lab.gz"), true);
    // The raw files are exactly the format (header by hand); the gzip ones are gzip.
    EXPECT_EQ(read("img"), idx_bytes(2051, {3, 2, 3}, s.pixels));
    EXPECT_EQ(read("lab"), idx_bytes(2049, {3}, s.labels));
    ASSERT_GE(read("img.gz").size(), 2u);
    EXPECT_EQ(read("img.gz")[0], 0x1f);
    EXPECT_EQ(read("img.gz")[1], 0x8b);
    EXPECT_EQ(glia::reservoir::read_file_maybe_gzip(path("img.gz")), read("img"));
    expect_equal_sets(glia::reservoir::load_idx(path("img"), path("lab")), s);
    expect_equal_sets(glia::reservoir::load_idx(path("img.gz"), path("lab.gz")), s);
    expect_equal_sets(glia::reservoir::load_idx(path("img.gz"), path("lab")), s);
}

TEST_F(dataset_files, rejects_a_missing_file) {
    glia::reservoir::save_idx(small_set(), path("img"), path("lab"), false);
    expect_error([&] { glia::reservoir::load_idx(path("nope"), path("lab")); },
                 fmt::format("dataset file '{}' does not exist", path("nope").string()));
    expect_error([&] { glia::reservoir::load_idx(path("img"), path("nolab.gz")); },
                 fmt::format("'{}' does not exist", path("nolab.gz").string()));
    expect_error([&] { glia::reservoir::load_idx(dir_, path("lab")); }, "is a directory");
}

TEST_F(dataset_files, rejects_a_wrong_magic_number) {
    glia::reservoir::save_idx(small_set(), path("img"), path("lab"), false);
    expect_error([&] { glia::reservoir::load_idx(path("lab"), path("lab")); },
                 fmt::format("'{}': not an IDX image file", path("lab").string()),
                 "magic number 2049 (0x00000801), expected 2051 (0x00000803: unsigned bytes, 3 "
                 "dimensions)");
    expect_error([&] { glia::reservoir::load_idx(path("img"), path("img")); },
                 "not an IDX label file",
                 "magic number 2051 (0x00000803), expected 2049 (0x00000801: unsigned bytes, 1 "
                 "dimension)");
    write("text", {'h', 'i'});
    expect_error([&] { glia::reservoir::load_idx(path("text"), path("lab")); },
                 "not an IDX image file: it holds only 2 bytes");
}

TEST_F(dataset_files, rejects_different_numbers_of_images_and_labels) {
    const image_set s = small_set();
    write("img", idx_bytes(2051, {3, 2, 3}, s.pixels));
    write("lab", idx_bytes(2049, {2}, {2, 0}));
    expect_error([&] { glia::reservoir::load_idx(path("img"), path("lab")); },
                 fmt::format("'{}' holds 3 images but '{}' holds 2 labels", path("img").string(),
                             path("lab").string()));
}

TEST_F(dataset_files, rejects_truncated_and_trailing_data) {
    image_set s = small_set();
    std::vector<std::uint8_t> short_pixels(s.pixels.begin(), s.pixels.end() - 1);
    write("img", idx_bytes(2051, {3, 2, 3}, short_pixels));
    write("lab", idx_bytes(2049, {3}, s.labels));
    expect_error([&] { glia::reservoir::load_idx(path("img"), path("lab")); },
                 fmt::format("'{}': truncated IDX data", path("img").string()),
                 "the header says 3 x 2 x 3 = 18 bytes, the file holds 17");
    write("hdr", {0, 0, 8, 3, 0, 0, 0, 3, 0, 0});
    expect_error([&] { glia::reservoir::load_idx(path("hdr"), path("lab")); },
                 "truncated IDX header: 10 bytes, expected 16 for 3 dimensions");
    std::vector<std::uint8_t> long_labels = s.labels;
    long_labels.push_back(7);
    write("lab2", idx_bytes(2049, {3}, long_labels));
    glia::reservoir::save_idx(s, path("img2"), path("unused"), false);
    expect_error([&] { glia::reservoir::load_idx(path("img2"), path("lab2")); },
                 "1 unexpected bytes after the IDX data (the header says 3 = 3 bytes)");
}

TEST_F(dataset_files, rejects_truncated_and_corrupt_gzip) {
    glia::reservoir::save_idx(small_set(), path("img.gz"), path("lab.gz"), true);
    std::vector<std::uint8_t> gz = read("img.gz");
    write("cut.gz",
          std::vector<std::uint8_t>(gz.begin(), gz.begin() + static_cast<long>(gz.size() / 2)));
    expect_error([&] { glia::reservoir::load_idx(path("cut.gz"), path("lab.gz")); },
                 fmt::format("'{}': truncated gzip stream", path("cut.gz").string()));
    std::vector<std::uint8_t> bad = gz;
    for (std::size_t i = 10; i < bad.size() - 8; ++i) {
        bad[i] = static_cast<std::uint8_t>(bad[i] ^ 0x5a);
    }
    write("bad.gz", bad);
    expect_error([&] { glia::reservoir::load_idx(path("bad.gz"), path("lab.gz")); },
                 fmt::format("'{}': corrupt gzip stream", path("bad.gz").string()));
}

TEST_F(dataset_files, loads_an_official_pair_from_a_directory) {
    image_set train = small_set();
    image_set test = small_set();
    test.n = 1;
    test.pixels.resize(6);
    test.labels = {1};
    glia::reservoir::save_idx(train, path("train-images-idx3-ubyte.gz"),
                              path("train-labels-idx1-ubyte.gz"), true);
    glia::reservoir::save_idx(test, path("t10k-images-idx3-ubyte"), path("t10k-labels-idx1-ubyte"),
                              false);
    const auto data = glia::reservoir::load_official(dir_);
    EXPECT_EQ(data.n_official_train, 3u);
    EXPECT_EQ(data.n_official_test, 1u);
    expect_equal_sets(data.images, glia::reservoir::concatenate(train, test));
    const auto s = glia::reservoir::nalsm_split(data, 1);
    EXPECT_EQ(s.train, (std::vector<std::size_t>{0, 1}));
    EXPECT_EQ(s.validation, (std::vector<std::size_t>{2}));
    EXPECT_EQ(s.test, (std::vector<std::size_t>{3}));
    expect_error([&] { glia::reservoir::nalsm_split(data, 3); },
                 "nalsm_split: n_validation must be below the 3 official train images, got 3");
    fs::remove(path("t10k-labels-idx1-ubyte"));
    expect_error([&] { glia::reservoir::load_official(dir_); },
                 fmt::format("neither '{}' nor '{}' exists",
                             path("t10k-labels-idx1-ubyte").string(),
                             path("t10k-labels-idx1-ubyte.gz").string()));
}

TEST(dataset, concatenates_and_counts_classes) {
    const image_set s = small_set();
    const image_set both = glia::reservoir::concatenate(s, s);
    EXPECT_EQ(both.n, 6u);
    EXPECT_EQ(both.pixels.size(), 36u);
    EXPECT_EQ(glia::reservoir::class_counts(both), (std::vector<std::size_t>{2, 0, 4}));
    const std::vector<std::size_t> some{1, 2};
    EXPECT_EQ(glia::reservoir::class_counts(both, some), (std::vector<std::size_t>{1, 0, 1}));
    EXPECT_EQ(glia::reservoir::labels_of(both, some), (std::vector<std::uint8_t>{0, 2}));
    const std::vector<std::size_t> outside{6};
    expect_error([&] { glia::reservoir::labels_of(both, outside); },
                 "labels_of: image index 6 out of range (the set holds 6 images)");
    image_set other = s;
    other.cols = 2;
    expect_error([&] { glia::reservoir::concatenate(s, other); },
                 "cannot concatenate image sets of 2 x 3 and 2 x 2 pixels");
}

TEST(dataset, fraction_split_takes_consecutive_parts) {
    const auto s = glia::reservoir::fraction_split(10000);
    ASSERT_EQ(s.train.size(), 8000u);
    ASSERT_EQ(s.validation.size(), 1000u);
    ASSERT_EQ(s.test.size(), 1000u);
    EXPECT_EQ(s.train.front(), 0u);
    EXPECT_EQ(s.train.back(), 7999u);
    EXPECT_EQ(s.validation.front(), 8000u);
    EXPECT_EQ(s.test.front(), 9000u);
    EXPECT_EQ(s.test.back(), 9999u);
    const auto t = glia::reservoir::fraction_split(10, 0.5, 0.3);
    EXPECT_EQ(t.train.size(), 5u);
    EXPECT_EQ(t.validation, (std::vector<std::size_t>{5, 6, 7}));
    EXPECT_EQ(t.test, (std::vector<std::size_t>{8, 9}));
    expect_error([] { glia::reservoir::fraction_split(10, 1.5, 0); },
                 "fraction_split: train_fraction must be in [0, 1], got 1.5");
    expect_error([] { glia::reservoir::fraction_split(10, 0.8, 0.5); },
                 "validation_fraction must be in [0, 1 - train_fraction]");
}

TEST(dataset_real, fashion_mnist_has_the_published_counts) {
    const fs::path dir(glia::reservoir::fashion_mnist_dir);
    if (!fs::exists(dir / "train-images-idx3-ubyte.gz")) {
        GTEST_SKIP() << "Fashion-MNIST is not installed at " << dir
                     << " (Debian package dataset-fashion-mnist)";
    }
    const auto data = glia::reservoir::load_official(dir);
    EXPECT_EQ(data.n_official_train, 60000u);
    EXPECT_EQ(data.n_official_test, 10000u);
    EXPECT_EQ(data.images.rows, 28u);
    EXPECT_EQ(data.images.cols, 28u);
    const auto s = glia::reservoir::nalsm_split(data);
    EXPECT_EQ(s.train.size(), 50000u);
    EXPECT_EQ(s.validation.size(), 10000u);
    EXPECT_EQ(s.test.size(), 10000u);
    std::vector<std::size_t> train_validation = s.train;
    train_validation.insert(train_validation.end(), s.validation.begin(), s.validation.end());
    // Fashion-MNIST is balanced: 6,000 per class in train, 1,000 in test.
    EXPECT_EQ(glia::reservoir::class_counts(data.images, train_validation),
              std::vector<std::size_t>(10, 6000));
    EXPECT_EQ(glia::reservoir::class_counts(data.images, s.test),
              std::vector<std::size_t>(10, 1000));
}

TEST(dataset_real, mnist_10k_has_the_documented_class_counts) {
    // Where configs/nalsm1000_mnist10k.yaml finds the digits (tools/fetch_mnist10k.sh makes
    // them), or GLIA_MNIST10K for a copy elsewhere.
    const char* env = std::getenv("GLIA_MNIST10K");
    const fs::path dir = env != nullptr && *env != '\0'
                             ? fs::path(env)
                             : fs::path(GLIA_SOURCE_DIR) / "data" / "mnist-10k";
    if (!fs::exists(dir / "images-idx3-ubyte.gz")) {
        GTEST_SKIP() << "mnist-10k is not at " << dir << " (tools/fetch_mnist10k.sh makes it)";
    }
    const image_set set =
        glia::reservoir::load_idx(dir / "images-idx3-ubyte.gz", dir / "labels-idx1-ubyte.gz");
    EXPECT_EQ(set.n, 10000u);
    EXPECT_EQ(set.rows, 28u);
    EXPECT_EQ(set.cols, 28u);
    // The npm package's digits per class (tools/fetch_mnist10k.sh).
    EXPECT_EQ(glia::reservoir::class_counts(set),
              (std::vector<std::size_t>{1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978}));
    const auto s = glia::reservoir::fraction_split(set.n);
    EXPECT_EQ(s.train.size() + s.validation.size() + s.test.size(), set.n);
}

}  // namespace
