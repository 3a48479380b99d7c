// h5::column (hdf5_column.hpp): a new dataset, and the rounds of writing it out. Shuffle and
// deflate are done here, on complete chunks, so that the bytes written are final.
#include "io/hdf5_column.hpp"

#include <algorithm>
#include <cstring>
#include <span>
#include <utility>

#include "io/hdf5_common.hpp"

#include <zlib.h>

namespace glia::io::h5 {

namespace {

// HDF5's shuffle filter: byte k of element i goes to position k * n + i.
void shuffle(const std::byte* in, std::byte* out, std::size_t n_elements, std::size_t elem_size) {
    for (std::size_t i = 0; i < n_elements; ++i) {
        for (std::size_t k = 0; k < elem_size; ++k) {
            out[k * n_elements + i] = in[i * elem_size + k];
        }
    }
}

}  // namespace

column::column(hid_t loc, const std::string& name, hid_t file_type, std::size_t elem_size, int rank,
               hsize_t width, hsize_t chunk_rows, hsize_t chunk_cols, int deflate_level,
               std::string file):
    elem_size_(elem_size),
    rank_(rank),
    width_(width),
    chunk_rows_(chunk_rows),
    chunk_cols_(rank == 1 ? 1 : chunk_cols),
    deflate_level_(deflate_level),
    file_(std::move(file)),
    name_(name) {
    const hsize_t dims[] = {0, width_};
    const hsize_t maxdims[] = {H5S_UNLIMITED, width_};
    const hsize_t chunk[] = {chunk_rows_, chunk_cols_};
    const auto r = static_cast<std::size_t>(rank_);
    const handle space = simple_space(std::span(dims, r), std::span(maxdims, r), file_);
    const handle dcpl = plist(H5P_DATASET_CREATE, file_);
    check_status(H5Pset_chunk(dcpl.get(), rank_, chunk), file_, "cannot set chunks");
    check_status(H5Pset_shuffle(dcpl.get()), file_, "cannot set the shuffle filter");
    check_status(H5Pset_deflate(dcpl.get(), static_cast<unsigned>(deflate_level)), file_,
                 "cannot set the deflate filter");
    dset_ = handle{check_id(H5Dcreate2(loc, name.c_str(), file_type, space.get(), H5P_DEFAULT,
                                       dcpl.get(), H5P_DEFAULT),
                            file_, "cannot create dataset '" + name + "'"),
                   H5Dclose};
    const int n_filters = H5Pget_nfilters(dcpl.get());
    if (n_filters != 2) {
        fail(file_, "unexpected filter pipeline on '" + name + "'");
    }
    chunk_.resize(chunk_rows_ * chunk_cols_ * elem_size_);
    shuffled_.resize(chunk_.size());
    compressed_.resize(::compressBound(static_cast<uLong>(chunk_.size())));

    // HDF5 1.10.8 creates a chunk index on the first write into a non-empty dataset only:
    // H5Dwrite_chunk into an empty dataset with no index crashes (segfault in H5B_find).
    // So grow to one row, write a chunk (this creates the index) and shrink back, which
    // removes the chunk and keeps the empty index. This happens before the first flush.
    const hsize_t one[] = {1, width_};
    const hsize_t origin[] = {0, 0};
    check_status(H5Dset_extent(dset_.get(), one), file_, "cannot extend '" + name + "'");
    check_status(H5Dwrite_chunk(dset_.get(), H5P_DEFAULT, unfiltered_mask, origin,
                                chunk_.size(), chunk_.data()),
                 file_, "cannot write '" + name + "'");
    check_status(H5Dset_extent(dset_.get(), dims), file_, "cannot shrink '" + name + "'");
}

bool column::write_chunk_row() {
    if (rows() == extent_) {
        return false;
    }
    const hsize_t first = extent_ - extent_ % chunk_rows_;  // first row of the chunk row
    const hsize_t end = std::min(rows(), first + chunk_rows_);
    const bool complete = end == first + chunk_rows_;
    const bool fresh = extent_ == first;  // nothing of it in the file yet
    const std::size_t row_bytes = width_ * elem_size_;
    for (hsize_t col = 0; col < width_; col += chunk_cols_) {
        const hsize_t n_cols = std::min(chunk_cols_, width_ - col);
        std::fill(chunk_.begin(), chunk_.end(), std::byte{0});
        for (hsize_t row = first; row < end; ++row) {
            std::memcpy(chunk_.data() + (row - first) * chunk_cols_ * elem_size_,
                        buffer_.data() + (row - buffer_first_) * row_bytes + col * elem_size_,
                        n_cols * elem_size_);
        }
        const void* bytes = chunk_.data();
        std::size_t n_bytes = chunk_.size();
        std::uint32_t mask = unfiltered_mask;
        if (complete && fresh) {
            shuffle(chunk_.data(), shuffled_.data(), chunk_.size() / elem_size_, elem_size_);
            auto packed = static_cast<uLongf>(compressed_.size());
            if (::compress2(reinterpret_cast<Bytef*>(compressed_.data()), &packed,
                            reinterpret_cast<const Bytef*>(shuffled_.data()),
                            static_cast<uLong>(shuffled_.size()), deflate_level_) == Z_OK &&
                packed < chunk_.size()) {
                bytes = compressed_.data();
                n_bytes = packed;
                mask = 0;
            }
        }
        const hsize_t offset[] = {first, col};
        check_status(H5Dwrite_chunk(dset_.get(), H5P_DEFAULT, mask, offset, n_bytes, bytes),
                     file_, "cannot write '" + name_ + "'");
    }
    pending_extent_ = end;
    return true;
}

void column::commit_extent() {
    if (pending_extent_ <= extent_) {
        return;
    }
    const hsize_t dims[] = {pending_extent_, width_};
    check_status(H5Dset_extent(dset_.get(), dims), file_, "cannot extend '" + name_ + "'");
    extent_ = pending_extent_;
}

void column::trim() {
    const hsize_t keep_from = extent_ - extent_ % chunk_rows_;
    if (keep_from > buffer_first_) {
        const std::size_t bytes = (keep_from - buffer_first_) * width_ * elem_size_;
        buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(bytes));
        buffer_first_ = keep_from;
    }
}

}  // namespace glia::io::h5
