#pragma once
// The binary encoding of a checkpoint body (docs/output_format.md, "Checkpoints"): named
// sections of little-endian 64-bit integers, IEEE-754 doubles, length-prefixed strings and
// arrays, written and read in the same order by checkpoint.cpp. Every value keeps its bits.
// Private to glia_core.

#include <algorithm>
#include <bit>
#include <cstdint>
#include <istream>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <glia/error.hpp>

namespace glia::ckpt {

// Arrays are written as the bytes of their elements: a checkpoint is read on the kind of
// machine that wrote it (the header says little-endian; another machine refuses it).
static_assert(std::endian::native == std::endian::little,
              "checkpoints store native little-endian values");

class writer {
public:
    explicit writer(std::ostream& out): out_(out) {}

    void tag(std::string_view name) { str(name); }
    void u64(std::uint64_t v) { raw(&v, sizeof v); }
    void i64(std::int64_t v) { raw(&v, sizeof v); }
    void f64(double v) { raw(&v, sizeof v); }
    void str(std::string_view s) {
        u64(s.size());
        raw(s.data(), s.size());
    }
    template <typename T>
    void array(std::span<const T> v) {
        u64(v.size());
        raw(v.data(), v.size_bytes());
    }
    void raw(const void* p, std::size_t n) {
        out_.write(static_cast<const char*>(p), static_cast<std::streamsize>(n));
        if (!out_) {
            throw error("cannot write the checkpoint (the output stream failed)");
        }
    }

private:
    std::ostream& out_;
};

class reader {
public:
    explicit reader(std::istream& in): in_(in) {}

    // Reads a section name; glia::error unless it is `name`.
    void expect(std::string_view name) {
        const std::string got = str();
        if (got != name) {
            throw error("checkpoint: expected section '" + std::string(name) + "' after '" +
                        section_ + "', found '" + printable(got) + "'");
        }
        section_ = got;
    }
    std::uint64_t u64() { return value<std::uint64_t>(); }
    std::int64_t i64() { return value<std::int64_t>(); }
    double f64() { return value<double>(); }
    std::string str() {
        const std::uint64_t n = u64();
        std::string s;
        read_growing(s, n);
        return s;
    }
    template <typename T>
    std::vector<T> array() {
        const std::uint64_t n = u64();
        std::vector<T> v;
        read_growing(v, n);
        return v;
    }
    void raw(void* p, std::size_t n) {
        in_.read(static_cast<char*>(p), static_cast<std::streamsize>(n));
        if (in_.gcount() != static_cast<std::streamsize>(n)) {
            throw error("checkpoint: the data end inside section '" + section_ +
                        "' (the file is truncated or not a checkpoint body)");
        }
    }
    const std::string& section() const { return section_; }

private:
    template <typename T>
    T value() {
        T v{};
        raw(&v, sizeof v);
        return v;
    }
    // Grows the container as the data arrive, so that a damaged length fails at the end of
    // the data instead of allocating whatever it says.
    template <typename C>
    void read_growing(C& c, std::uint64_t n) {
        constexpr std::uint64_t step = std::uint64_t{1} << 20;
        for (std::uint64_t done = 0; done < n;) {
            const std::uint64_t k = std::min(step, n - done);
            c.resize(static_cast<std::size_t>(done + k));
            raw(c.data() + done, static_cast<std::size_t>(k) * sizeof(typename C::value_type));
            done += k;
        }
    }
    static std::string printable(const std::string& s) {
        std::string out;
        for (char ch: s.substr(0, 40)) {
            out += ch >= 0x20 && ch < 0x7f ? ch : '?';
        }
        return out;
    }

    std::istream& in_;
    std::string section_ = "(start)";
};

}  // namespace glia::ckpt
