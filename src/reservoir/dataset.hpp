#pragma once
// Labelled image datasets in the IDX format (MNIST, Fashion-MNIST, the 10k MNIST digits made by
// tools/fetch_mnist10k.sh) and the train / validation / test splits of the reservoir protocol
// (docs/reservoir.md).
//
// IDX (LeCun's format): a big-endian header `00 00 <type> <ndim>` (type 0x08 = unsigned byte),
// then ndim big-endian uint32 dimensions, then the data in row-major order. Images are
// magic 2051 (0x00000803: ubyte, 3 dims n x rows x cols), labels 2049 (0x00000801: ubyte, 1 dim).
// Files may be gzip-compressed or raw; the reader tells them apart by the gzip magic bytes.
//
// Invariant of image_set: pixels.size() == n * rows * cols and labels.size() == n.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>
#include <vector>

namespace glia::reservoir {

struct image_set {
    std::size_t n = 0;                 // number of images
    std::size_t rows = 0;              // pixels per image, vertically
    std::size_t cols = 0;              // pixels per image, horizontally
    std::vector<std::uint8_t> pixels;  // grey levels 0..255, image after image, row-major
    std::vector<std::uint8_t> labels;  // class of each image

    std::size_t pixels_per_image() const { return rows * cols; }
    std::span<const std::uint8_t> image(std::size_t i) const {
        return {pixels.data() + i * pixels_per_image(), pixels_per_image()};
    }
};

// Reads a pair of IDX files (each gzip or raw). Throws glia::error for a missing or unreadable
// file, a wrong magic number, truncated or trailing data, a corrupt gzip stream, and a different
// number of images and labels; every message names the file.
image_set load_idx(const std::filesystem::path& images_path,
                   const std::filesystem::path& labels_path);

// Writes a pair of IDX files (gzip-compressed when `gzip`, with mtime 0 so equal data give equal
// bytes). Throws glia::error when a file cannot be written or the set breaks its invariant.
void save_idx(const image_set& set, const std::filesystem::path& images_path,
              const std::filesystem::path& labels_path, bool gzip);

// The bytes of a file, gunzipped when it starts with the gzip magic bytes (1f 8b).
std::vector<std::uint8_t> read_file_maybe_gzip(const std::filesystem::path& path);

// `second` appended after `first` (same image size required; a glia::error names both sizes).
image_set concatenate(const image_set& first, const image_set& second);

// Number of images of each class among `indices` (all images when `indices` is empty);
// the result has max(label) + 1 entries.
std::vector<std::size_t> class_counts(const image_set& set,
                                      std::span<const std::size_t> indices = {});

// The labels of the images `indices`, in that order (glia::error for an index out of range).
std::vector<std::uint8_t> labels_of(const image_set& set, std::span<const std::size_t> indices);

// A dataset published as an official train file and an official test file (MNIST layout:
// <dir>/train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz],
// t10k-labels-idx1-ubyte[.gz]), held as one image_set: the official train images first.
struct official_dataset {
    image_set images;
    std::size_t n_official_train = 0;
    std::size_t n_official_test = 0;
};
official_dataset load_official(const std::filesystem::path& dir);

// Where Debian's dataset-fashion-mnist package installs Fashion-MNIST.
inline constexpr std::string_view fashion_mnist_dir = "/usr/share/datasets/fashion-mnist";

// Indices into one image_set. Disjoint; each list in increasing order.
struct split {
    std::vector<std::size_t> train;
    std::vector<std::size_t> validation;
    std::vector<std::size_t> test;
};

// NALSM's split (science-spec §1.3): the first n_official_train - n_validation official train
// images for training, the last n_validation for validation, the official test set for test.
// Fashion-MNIST: 50,000 / 10,000 / 10,000.
split nalsm_split(const official_dataset& data, std::size_t n_validation = 10000);

// A split of a single-file set of n images, in file order: the first round(n * train_fraction)
// for training, the next round(n * validation_fraction) for validation, the rest for test.
// mnist-10k with the defaults: 8,000 / 1,000 / 1,000.
split fraction_split(std::size_t n, double train_fraction = 0.8, double validation_fraction = 0.1);

}  // namespace glia::reservoir
