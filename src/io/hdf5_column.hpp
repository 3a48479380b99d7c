#pragma once
// h5::column: an appendable HDF5 dataset that a killed writer leaves readable, the storage of
// every growing dataset of the SONATA writer (spikes, reports, weight snapshots). Rows are
// buffered, written as whole chunk rows and compressed by us, and the extent grows only after
// the chunks are on disk (hdf5_writer.hpp, "Crash safety"). Continuing an existing dataset
// (glia run --resume) is in hdf5_resume.cpp.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <hdf5.h>

#include "io/hdf5_handle.hpp"

namespace glia::io::h5 {

// One appendable dataset, rank 1 (rows) or rank 2 (rows x width), chunked along rows (and
// along the width in chunks of chunk_cols), with the filters shuffle + deflate.
//
// Rows are buffered here and reach the file only in write_chunk_row() + commit_extent(),
// which the sink calls in rounds separated by H5Fflush (state::write_out). What keeps a
// killed run readable:
//   - A chunk row is written (and indexed) before the extent grows over it: H5Dwrite_chunk
//     accepts a chunk that starts at the current extent, so each round writes the chunk row
//     that holds the first row beyond the extent, and the next H5Fflush puts the chunk and its
//     index entry on disk while the extent still hides them; only then does the extent grow,
//     in an H5Fflush of its own that changes nothing else.
//   - File space holding flushed data is never rewritten with other bytes. A chunk row
//     complete at its first write is compressed (by us: shuffle + zlib, which is what the
//     dataset's filters decode) into new space. A chunk row first written partial is stored
//     unfiltered at full chunk size (filter mask: every filter skipped) and later rewritten in
//     place, the bytes already flushed unchanged; it stays unfiltered. (HDF5 moves a chunk
//     whose stored size changes, and may put the new copy over the old one: a kill before
//     the next flush would leave an unreadable chunk.)
class column {
public:
    column(hid_t loc, const std::string& name, hid_t file_type, std::size_t elem_size, int rank,
           hsize_t width, hsize_t chunk_rows, hsize_t chunk_cols, int deflate_level,
           std::string file);

    // An existing dataset of the file (a resumed run, see resume_at()); its chunk shape is
    // read from the file, its rank, width and element size must be as expected.
    struct existing {};
    column(existing, hid_t loc, const std::string& name, std::size_t elem_size, int rank,
           hsize_t width, int deflate_level, std::string file);

    // Continues an existing dataset after its first `rows` rows (a resumed run): rows beyond
    // are dropped. The rows of the last, partial chunk row are read back into the buffer, so
    // that the next write_chunk_row() writes them again, unchanged, with the new ones:
    //   - the file has exactly `rows` rows (the usual case: the run that wrote the checkpoint
    //     closed the file): nothing changes on disk; that chunk row, stored unfiltered since
    //     it was partial, is rewritten in place as during a run;
    //   - it has more (a resumed run was killed after the checkpoint): the extent shrinks to
    //     the start of that chunk row (whole chunks are dropped, no chunk is rewritten by
    //     HDF5), and the buffered rows are written as a new chunk row.
    // Throws glia::error if the dataset has fewer than `rows` rows.
    void resume_at(hsize_t rows, hid_t mem_type);

    hid_t id() const { return dset_.get(); }
    hsize_t rows() const { return buffer_first_ + buffered_rows(); }
    hsize_t extent() const { return extent_; }
    std::size_t unwritten_bytes() const { return (rows() - extent_) * width_ * elem_size_; }

    void append(const void* data, hsize_t n_rows) {
        const auto* src = static_cast<const std::byte*>(data);
        buffer_.insert(buffer_.end(), src, src + n_rows * width_ * elem_size_);
    }

    // Writes the chunk row holding row extent() (if there are rows beyond it); true if it did.
    bool write_chunk_row();

    // Grows the extent over the chunk row written last (its index is on disk by now).
    void commit_extent();

    // Forgets the buffered rows of chunk rows that are complete in the file.
    void trim();

private:
    static constexpr std::uint32_t unfiltered_mask = 0x3;  // shuffle and deflate skipped

    hsize_t buffered_rows() const { return buffer_.size() / (width_ * elem_size_); }

    handle dset_;
    std::size_t elem_size_;
    int rank_;
    hsize_t width_;  // values per row (1 for rank 1)
    hsize_t chunk_rows_;
    hsize_t chunk_cols_;  // 1 for rank 1
    int deflate_level_;
    std::string file_;
    std::string name_;
    std::vector<std::byte> buffer_;  // rows [buffer_first_, rows()), row-major
    hsize_t buffer_first_ = 0;       // a multiple of chunk_rows_
    hsize_t extent_ = 0;             // rows the dataset has (in the file after a flush)
    hsize_t pending_extent_ = 0;     // rows written, extent not yet grown over them
    std::vector<std::byte> chunk_;   // one chunk being assembled
    std::vector<std::byte> shuffled_;
    std::vector<std::byte> compressed_;
};

}  // namespace glia::io::h5
