#pragma once
// A YAML document read for a config loader: parsed once, --set overrides applied, and typed
// reads that fail with "file:line:col: message" at the offending node (or "--set path=value:
// message" for a value that came from an override). Used by the reservoir experiment loader
// (reservoir_config.cpp); each read takes the key path it reports in messages.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace glia::io {

class yaml_reader {
public:
    // Parses `text` (named `file` in messages) and applies `overrides` ("a.b.c=value", the
    // value parsed as YAML) in order: every key before the last must be an existing map.
    // Throws glia::config_error for a syntax error, glia::error for a bad override.
    yaml_reader(const std::string& text, std::string file,
                const std::vector<std::string>& overrides);

    const YAML::Node& root() const { return root_; }
    const std::string& file() const { return file_; }
    // The document after overrides, as YAML text (for provenance).
    std::string emit() const;

    [[noreturn]] void fail(const YAML::Node& at, const std::string& path,
                           const std::string& message) const;

    // `n` must be a map whose keys are all in `allowed` (else: names the key and the allowed
    // ones). An undefined node passes (an absent optional section).
    void check_keys(const YAML::Node& n, const std::string& path,
                    std::initializer_list<std::string_view> allowed) const;
    // The child `key` of map `n` (undefined when absent); required() fails when it is absent.
    YAML::Node child(const YAML::Node& n, std::string_view key) const;
    YAML::Node required(const YAML::Node& n, const std::string& path, std::string_view key) const;

    // A finite number in [lo, hi] (open ends when lo_open / hi_open).
    double number(const YAML::Node& n, const std::string& path, double lo, double hi,
                  bool lo_open = false, bool hi_open = false) const;
    std::uint64_t integer(const YAML::Node& n, const std::string& path, std::uint64_t lo,
                          std::uint64_t hi) const;
    bool boolean(const YAML::Node& n, const std::string& path) const;
    std::string text(const YAML::Node& n, const std::string& path) const;
    // One of `options` (the message lists them).
    std::string choice(const YAML::Node& n, const std::string& path,
                       std::initializer_list<std::string_view> options) const;
    // A time, "20 ms", "0.25 s" or a bare number of ms, converted to ms, in [lo, hi].
    double time_ms(const YAML::Node& n, const std::string& path, double lo, double hi) const;
    // A list of exactly `size` whole numbers in [lo, hi].
    std::vector<std::uint64_t> integers(const YAML::Node& n, const std::string& path,
                                        std::size_t size, std::uint64_t lo,
                                        std::uint64_t hi) const;
    // A non-empty list of numbers in [lo, hi].
    std::vector<double> numbers(const YAML::Node& n, const std::string& path, double lo,
                                double hi) const;

    // Optional reads: `fallback` when the key is absent from map `n`.
    double number_or(const YAML::Node& n, const std::string& path, std::string_view key,
                     double fallback, double lo, double hi, bool lo_open = false) const;
    std::uint64_t integer_or(const YAML::Node& n, const std::string& path, std::string_view key,
                             std::uint64_t fallback, std::uint64_t lo, std::uint64_t hi) const;
    bool boolean_or(const YAML::Node& n, const std::string& path, std::string_view key,
                    bool fallback) const;
    double time_ms_or(const YAML::Node& n, const std::string& path, std::string_view key,
                      double fallback, double lo, double hi) const;

private:
    const std::string* override_of(const std::string& path) const;

    std::string file_;
    YAML::Node root_;
    std::vector<std::pair<std::string, std::string>> overrides_;  // key path, "path=value"
};

// "a.b" + "c" -> "a.b.c"; "" + "c" -> "c".
std::string key_path(const std::string& parent, std::string_view key);

}  // namespace glia::io
