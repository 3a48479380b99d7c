#include "reservoir/dataset.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <iterator>
#include <string>

#include <fmt/format.h>

#include <glia/error.hpp>

#include <zlib.h>

namespace glia::reservoir {

namespace {

namespace fs = std::filesystem;

constexpr std::uint32_t idx_images_magic = 2051;  // 0x00000803: unsigned byte, 3 dimensions
constexpr std::uint32_t idx_labels_magic = 2049;  // 0x00000801: unsigned byte, 1 dimension

std::string quoted(const fs::path& p) {
    return fmt::format("'{}'", p.string());
}

std::vector<std::uint8_t> gunzip(const std::vector<std::uint8_t>& in, const fs::path& path) {
    std::vector<std::uint8_t> out;
    out.reserve(in.size() * 4);
    z_stream z{};
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {  // 16: expect a gzip wrapper
        throw internal_error("dataset: inflateInit2 failed");
    }
    z.next_in = const_cast<Bytef*>(in.data());  // zlib's API is not const-correct
    z.avail_in = static_cast<uInt>(in.size());
    std::array<std::uint8_t, 1 << 16> buffer{};
    int status = Z_OK;
    while (true) {
        z.next_out = buffer.data();
        z.avail_out = static_cast<uInt>(buffer.size());
        status = inflate(&z, Z_NO_FLUSH);
        out.insert(out.end(), buffer.data(), buffer.data() + (buffer.size() - z.avail_out));
        if (status == Z_STREAM_END) {
            if (z.avail_in == 0) {
                break;
            }
            inflateReset(&z);  // another gzip member follows (concatenated .gz files)
            continue;
        }
        if (status == Z_BUF_ERROR && z.avail_in == 0) {
            inflateEnd(&z);
            throw error(fmt::format("{}: truncated gzip stream (it ends after {} bytes of "
                                    "uncompressed data)",
                                    quoted(path), out.size()));
        }
        if (status != Z_OK) {
            const std::string why = z.msg ? z.msg : "error " + std::to_string(status);
            inflateEnd(&z);
            throw error(fmt::format("{}: corrupt gzip stream ({})", quoted(path), why));
        }
    }
    inflateEnd(&z);
    return out;
}

std::vector<std::uint8_t> gzip_bytes(std::span<const std::uint8_t> in) {
    z_stream z{};
    // 16 + MAX_WBITS: gzip wrapper with zlib's default header (mtime 0, no file name).
    if (deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        throw internal_error("dataset: deflateInit2 failed");
    }
    std::vector<std::uint8_t> out(deflateBound(&z, static_cast<uLong>(in.size())));
    z.next_in = const_cast<Bytef*>(in.data());
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    const int status = deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    if (status != Z_STREAM_END) {
        throw internal_error("dataset: deflate did not finish in one call");
    }
    return out;
}

std::uint32_t read_be32(const std::vector<std::uint8_t>& b, std::size_t at) {
    return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) |
           (std::uint32_t{b[at + 2]} << 8) | std::uint32_t{b[at + 3]};
}

void append_be32(std::vector<std::uint8_t>& b, std::uint64_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) {
        b.push_back(static_cast<std::uint8_t>((v >> shift) & 0xff));
    }
}

// An IDX file of unsigned bytes: its dimensions and data.
struct idx_contents {
    std::vector<std::uint64_t> dims;
    std::vector<std::uint8_t> data;
};

idx_contents read_idx(const fs::path& path, std::uint32_t expected_magic, const char* kind) {
    const std::vector<std::uint8_t> bytes = read_file_maybe_gzip(path);
    const std::size_t ndim = expected_magic & 0xff;
    if (bytes.size() < 4) {
        throw error(fmt::format("{}: not an IDX {} file: it holds only {} bytes, fewer than the "
                                "4-byte magic number",
                                quoted(path), kind, bytes.size()));
    }
    const std::uint32_t magic = read_be32(bytes, 0);
    if (magic != expected_magic) {
        throw error(fmt::format("{}: not an IDX {} file: magic number {} (0x{:08x}), expected {} "
                                "(0x{:08x}: unsigned bytes, {} dimension{})",
                                quoted(path), kind, magic, magic, expected_magic, expected_magic,
                                ndim, ndim == 1 ? "" : "s"));
    }
    const std::size_t header = 4 + 4 * ndim;
    if (bytes.size() < header) {
        throw error(fmt::format("{}: truncated IDX header: {} bytes, expected {} for {} "
                                "dimension{}",
                                quoted(path), bytes.size(), header, ndim, ndim == 1 ? "" : "s"));
    }
    idx_contents out;
    std::uint64_t expected_data = 1;
    std::string shape;
    for (std::size_t d = 0; d < ndim; ++d) {
        out.dims.push_back(read_be32(bytes, 4 + 4 * d));
        expected_data *= out.dims.back();
        shape += (d == 0 ? "" : " x ") + std::to_string(out.dims.back());
    }
    const std::uint64_t actual_data = bytes.size() - header;
    if (actual_data < expected_data) {
        throw error(fmt::format("{}: truncated IDX data: the header says {} = {} bytes, the file "
                                "holds {}",
                                quoted(path), shape, expected_data, actual_data));
    }
    if (actual_data > expected_data) {
        throw error(fmt::format("{}: {} unexpected bytes after the IDX data (the header says {} "
                                "= {} bytes)",
                                quoted(path), actual_data - expected_data, shape, expected_data));
    }
    out.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(header), bytes.end());
    return out;
}

void write_bytes(const fs::path& path, std::span<const std::uint8_t> bytes) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    if (!f) {
        throw error(fmt::format("cannot open {} for writing", quoted(path)));
    }
    f.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
    if (!f) {
        throw error(fmt::format("cannot write {}", quoted(path)));
    }
}

// <dir>/<name> or, when that does not exist, <dir>/<name>.gz.
fs::path find_idx(const fs::path& dir, const std::string& name) {
    const fs::path raw = dir / name;
    if (fs::exists(raw)) {
        return raw;
    }
    const fs::path gz = dir / (name + ".gz");
    if (fs::exists(gz)) {
        return gz;
    }
    throw error(fmt::format("dataset: neither {} nor {} exists", quoted(raw), quoted(gz)));
}

}  // namespace

std::vector<std::uint8_t> read_file_maybe_gzip(const fs::path& path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) {
        throw error(fmt::format("dataset file {} does not exist", quoted(path)));
    }
    if (fs::is_directory(path, ec)) {
        throw error(
            fmt::format("dataset file {} is a directory, expected an IDX file", quoted(path)));
    }
    if (!fs::is_regular_file(path, ec)) {  // a FIFO or a device would block or never end
        throw error(fmt::format("dataset file {} is not a regular file, expected an IDX file",
                                quoted(path)));
    }
    std::ifstream f(path, std::ios::binary);
    if (!f) {
        throw error(fmt::format("cannot open dataset file {}", quoted(path)));
    }
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(f)),
                                    std::istreambuf_iterator<char>());
    if (f.bad()) {
        throw error(fmt::format("cannot read dataset file {}", quoted(path)));
    }
    if (bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b) {
        return gunzip(bytes, path);
    }
    return bytes;
}

image_set load_idx(const fs::path& images_path, const fs::path& labels_path) {
    idx_contents images = read_idx(images_path, idx_images_magic, "image");
    idx_contents labels = read_idx(labels_path, idx_labels_magic, "label");
    if (images.dims[0] != labels.dims[0]) {
        throw error(fmt::format("{} holds {} images but {} holds {} labels", quoted(images_path),
                                images.dims[0], quoted(labels_path), labels.dims[0]));
    }
    image_set set;
    set.n = images.dims[0];
    set.rows = images.dims[1];
    set.cols = images.dims[2];
    set.pixels = std::move(images.data);
    set.labels = std::move(labels.data);
    return set;
}

void save_idx(const image_set& set, const fs::path& images_path, const fs::path& labels_path,
              bool gzip) {
    if (set.pixels.size() != set.n * set.pixels_per_image() || set.labels.size() != set.n) {
        throw error(fmt::format("save_idx: inconsistent image_set: n = {}, {} x {} pixels per "
                                "image, but {} pixel bytes and {} labels",
                                set.n, set.rows, set.cols, set.pixels.size(), set.labels.size()));
    }
    std::vector<std::uint8_t> img;
    img.reserve(16 + set.pixels.size());
    append_be32(img, idx_images_magic);
    append_be32(img, set.n);
    append_be32(img, set.rows);
    append_be32(img, set.cols);
    img.insert(img.end(), set.pixels.begin(), set.pixels.end());
    std::vector<std::uint8_t> lab;
    lab.reserve(8 + set.labels.size());
    append_be32(lab, idx_labels_magic);
    append_be32(lab, set.n);
    lab.insert(lab.end(), set.labels.begin(), set.labels.end());
    write_bytes(images_path, gzip ? gzip_bytes(img) : img);
    write_bytes(labels_path, gzip ? gzip_bytes(lab) : lab);
}

image_set concatenate(const image_set& first, const image_set& second) {
    if (first.rows != second.rows || first.cols != second.cols) {
        throw error(fmt::format("cannot concatenate image sets of {} x {} and {} x {} pixels",
                                first.rows, first.cols, second.rows, second.cols));
    }
    image_set out = first;
    out.n += second.n;
    out.pixels.insert(out.pixels.end(), second.pixels.begin(), second.pixels.end());
    out.labels.insert(out.labels.end(), second.labels.begin(), second.labels.end());
    return out;
}

std::vector<std::size_t> class_counts(const image_set& set, std::span<const std::size_t> indices) {
    std::vector<std::size_t> counts;
    const auto add = [&](std::size_t i) {
        const std::size_t c = set.labels.at(i);
        if (c >= counts.size()) {
            counts.resize(c + 1, 0);
        }
        ++counts[c];
    };
    if (indices.empty()) {
        for (std::size_t i = 0; i < set.n; ++i) {
            add(i);
        }
    } else {
        for (std::size_t i: indices) {
            add(i);
        }
    }
    return counts;
}

std::vector<std::uint8_t> labels_of(const image_set& set, std::span<const std::size_t> indices) {
    std::vector<std::uint8_t> out;
    out.reserve(indices.size());
    for (std::size_t i: indices) {
        if (i >= set.labels.size()) {
            throw error(fmt::format("labels_of: image index {} out of range (the set holds {} "
                                    "images)",
                                    i, set.labels.size()));
        }
        out.push_back(set.labels[i]);
    }
    return out;
}

official_dataset load_official(const fs::path& dir) {
    image_set train = load_idx(find_idx(dir, "train-images-idx3-ubyte"),
                               find_idx(dir, "train-labels-idx1-ubyte"));
    image_set test =
        load_idx(find_idx(dir, "t10k-images-idx3-ubyte"), find_idx(dir, "t10k-labels-idx1-ubyte"));
    official_dataset out;
    out.n_official_train = train.n;
    out.n_official_test = test.n;
    out.images = concatenate(train, test);
    return out;
}

split nalsm_split(const official_dataset& data, std::size_t n_validation) {
    if (!(n_validation < data.n_official_train)) {
        throw error(fmt::format("nalsm_split: n_validation must be below the {} official train "
                                "images, got {}",
                                data.n_official_train, n_validation));
    }
    split s;
    const std::size_t n_train = data.n_official_train - n_validation;
    for (std::size_t i = 0; i < data.n_official_train + data.n_official_test; ++i) {
        (i < n_train ? s.train : i < data.n_official_train ? s.validation : s.test).push_back(i);
    }
    return s;
}

split fraction_split(std::size_t n, double train_fraction, double validation_fraction) {
    if (!(train_fraction >= 0 && train_fraction <= 1)) {
        throw error(fmt::format("fraction_split: train_fraction must be in [0, 1], got {}",
                                train_fraction));
    }
    if (!(validation_fraction >= 0 && validation_fraction <= 1 - train_fraction + 1e-12)) {
        throw error(fmt::format("fraction_split: validation_fraction must be in [0, 1 - "
                                "train_fraction] = [0, {}], got {}",
                                1 - train_fraction, validation_fraction));
    }
    const double dn = static_cast<double>(n);
    const auto n_train = std::min(n, static_cast<std::size_t>(std::llround(dn * train_fraction)));
    const auto n_val =
        std::min(n - n_train, static_cast<std::size_t>(std::llround(dn * validation_fraction)));
    split s;
    for (std::size_t i = 0; i < n; ++i) {
        (i < n_train ? s.train : i < n_train + n_val ? s.validation : s.test).push_back(i);
    }
    return s;
}

}  // namespace glia::reservoir
