#pragma once
// The dynamic state of a model block as named columns of numbers, for checkpoints
// (docs/architecture.md, "Checkpoint and resume").
//
// A block saves what its next steps read and what is not a function of its parameters, the
// step and the seed: a neuron block one value per neuron in each column (block order), a
// plastic block one value per delay segment, per synapse or per block. The engine re-cuts
// the columns by global id, (source, delay) and canonical synapse order, so that a checkpoint
// written with one partitioning is read with another: a column never holds a value of the
// block as a whole unless it is declared per block (and then every partition must agree).
//
// Values are kept bit for bit (doubles are not printed and parsed): a resumed run repeats the
// uninterrupted one exactly.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <glia/error.hpp>

namespace glia {

class state_columns {
public:
    enum class type : std::uint8_t { f64 = 1, i64 = 2, i32 = 3 };

    struct column {
        std::string name;
        type kind = type::f64;
        std::vector<std::byte> bytes;  // the values, native byte order
        std::size_t size() const { return bytes.size() / width(kind); }
    };

    static constexpr std::size_t width(type t) { return t == type::i32 ? 4 : 8; }
    static constexpr const char* type_name(type t) {
        return t == type::f64 ? "f64" : t == type::i64 ? "i64" : "i32";
    }

    void put(std::string_view name, std::span<const double> v) { add(name, type::f64, v); }
    void put(std::string_view name, std::span<const std::int64_t> v) { add(name, type::i64, v); }
    void put(std::string_view name, std::span<const std::int32_t> v) { add(name, type::i32, v); }

    // Copies column `name` into `out`. Throws glia::error when there is no such column or it
    // holds values of another type or another number of values than out.size().
    void get(std::string_view name, std::span<double> out) const { take(name, type::f64, out); }
    void get(std::string_view name, std::span<std::int64_t> out) const {
        take(name, type::i64, out);
    }
    void get(std::string_view name, std::span<std::int32_t> out) const {
        take(name, type::i32, out);
    }

    const column* find(std::string_view name) const {
        for (const auto& c: columns_) {
            if (c.name == name) {
                return &c;
            }
        }
        return nullptr;
    }
    std::vector<column>& columns() { return columns_; }
    const std::vector<column>& columns() const { return columns_; }
    bool empty() const { return columns_.empty(); }
    void clear() { columns_.clear(); }

private:
    template <typename T>
    void add(std::string_view name, type t, std::span<const T> v) {
        if (find(name) != nullptr) {
            throw internal_error("state_columns: column '" + std::string(name) + "' saved twice");
        }
        column c{std::string(name), t, std::vector<std::byte>(v.size_bytes())};
        if (!v.empty()) {
            std::memcpy(c.bytes.data(), v.data(), v.size_bytes());
        }
        columns_.push_back(std::move(c));
    }

    template <typename T>
    void take(std::string_view name, type t, std::span<T> out) const {
        const column* c = find(name);
        if (c == nullptr) {
            std::string known;
            for (const auto& k: columns_) {
                known += (known.empty() ? "" : ", ") + k.name;
            }
            throw error("no state column '" + std::string(name) + "' (the checkpoint has: " +
                        (known.empty() ? std::string("none") : known) + ")");
        }
        if (c->kind != t || c->size() != out.size()) {
            throw error("state column '" + std::string(name) + "' holds " +
                        std::to_string(c->size()) + " values of type " + type_name(c->kind) +
                        ", expected " + std::to_string(out.size()) + " of type " + type_name(t));
        }
        if (!out.empty()) {
            std::memcpy(out.data(), c->bytes.data(), out.size_bytes());
        }
    }

    std::vector<column> columns_;
};

}  // namespace glia
