// Hostile configs: a fixed-seed generator mutates the shipped configs (deleted, duplicated,
// retyped and renamed keys; huge, negative, NaN and infinite numbers; control bytes; alias
// cycles; deep nesting; truncation; CR-only line endings; shifted indentation) and runs
// `glia validate` on each under a time limit (10 s) and an address-space limit (2 GB). Every
// case must either pass or end with exit code 1 and a message located at file:line:col: no
// crash, no hang, no internal error, no message that does not say where.

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli_harness.hpp"

namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::vector<std::string> split_lines(const std::string& t) {
    std::vector<std::string> lines;
    std::size_t at = 0;
    while (true) {
        const std::size_t end = t.find('\n', at);
        lines.push_back(t.substr(at, end == std::string::npos ? std::string::npos : end - at));
        if (end == std::string::npos) {
            return lines;
        }
        at = end + 1;
    }
}

std::string join_lines(const std::vector<std::string>& lines) {
    std::string t;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        t += lines[i];
        if (i + 1 < lines.size()) {
            t += '\n';
        }
    }
    return t;
}

class mutator {
public:
    explicit mutator(std::uint64_t seed): rng_(seed) {}

    std::size_t below(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_); }

    std::string mutate(const std::string& text) {
        static const std::vector<std::string> values = {
            "-1", "1e308", "nan", ".inf", "'abc'", "[]", "{}", "&a [1, *a]", "\x1b[31mx",
            "99999999999999999999", "-0", "1e-300 ms", "0", "~", "[1, [2, [3]]]", "1e9",
            "4294967296", "-1e23 ms", "true", std::string(1, '\0')};
        static const std::vector<std::string> keys = {"zz", "size", "type", "p", "weight", "delay"};
        static const std::regex key_value(R"(^(\s*[^:#]+:\s*)(.*)$)");
        static const std::regex key_only(R"(^(\s*)([A-Za-z_]+)(:.*)$)");
        std::vector<std::string> lines = split_lines(text);
        const std::size_t i = below(lines.size());
        std::smatch m;
        switch (below(8)) {
        case 0:
            lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(i));
            break;
        case 1:
            lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(i), lines[i]);
            break;
        case 2:
            if (std::regex_match(lines[i], m, key_value)) {
                lines[i] = m[1].str() + values[below(values.size())];
            } else {
                lines[i] += " " + values[below(values.size())];
            }
            break;
        case 3:
            return text.substr(0, below(text.size() + 1));
        case 4: {
            const std::size_t depth[] = {10, 300, 3000};
            lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(i),
                         "x: " + std::string(depth[below(3)], '['));
            break;
        }
        case 5: {
            std::string t = text;
            std::replace(t.begin(), t.end(), '\n', '\r');
            return t;
        }
        case 6:
            if (std::regex_match(lines[i], m, key_only)) {
                lines[i] = m[1].str() + keys[below(keys.size())] + m[3].str();
            }
            break;
        default:
            lines[i] = "  " + lines[i];
            break;
        }
        return join_lines(lines);
    }

private:
    std::mt19937_64 rng_;
};

enum class outcome { ok, located, crash, hang, internal, unlocated };

outcome classify(const glia::test::cli_result& r, const std::string& file) {
    if (r.code == 0) {
        return outcome::ok;
    }
    if (r.code == 124 || r.code == 137) {  // timeout's exit codes: limit reached, killed
        return outcome::hang;
    }
    if (r.code != 1) {
        return outcome::crash;  // 128 + signal, or anything but the documented codes
    }
    if (r.out.find("internal error") != std::string::npos) {
        return outcome::internal;
    }
    const std::regex located(std::regex_replace(file, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") +
                             R"(:\d+:\d+: )");
    return std::regex_search(r.out, located) ? outcome::located : outcome::unlocated;
}

class fuzz_validate: public glia::test::scratch_test {
protected:
    fuzz_validate(): scratch_test("fuzz") {}
};

TEST_F(fuzz_validate, mutated_configs_pass_or_fail_with_a_located_message) {
    std::vector<fs::path> seeds;
    for (const auto& e: fs::directory_iterator(fs::path(GLIA_SOURCE_DIR) / "configs")) {
        if (e.path().extension() == ".yaml") {
            seeds.push_back(e.path());
        }
    }
    std::sort(seeds.begin(), seeds.end());
    ASSERT_GE(seeds.size(), 10u);
    constexpr std::size_t cases = 400;
    mutator mut(20261206);
    std::vector<std::string> files;
    for (std::size_t n = 0; n < cases; ++n) {
        std::string text = read_text(seeds[mut.below(seeds.size())]);
        const std::size_t rounds = 1 + mut.below(3);
        for (std::size_t r = 0; r < rounds; ++r) {
            text = mut.mutate(text);
        }
        files.push_back(write("case" + std::to_string(n) + ".yaml", text));
    }
    const auto validate = [](const std::string& file) {
        return glia::test::run_shell("timeout -s KILL 10 prlimit --as=2000000000 " +
                                     std::string(GLIA_EXECUTABLE) + " validate '" + file + "'");
    };
    std::map<outcome, std::size_t> count;
    std::vector<std::string> failures;
    for (std::size_t n = 0; n < cases; n += 2) {  // two at a time
        auto second = std::async(std::launch::async, validate, files[n + 1]);
        const glia::test::cli_result results[2] = {validate(files[n]), second.get()};
        for (std::size_t k = 0; k < 2; ++k) {
            const outcome o = classify(results[k], files[n + k]);
            ++count[o];
            if (o != outcome::ok && o != outcome::located && failures.size() < 10) {
                failures.push_back(files[n + k] + " (exit " + std::to_string(results[k].code) +
                                   "): " + results[k].out.substr(0, 400));
            }
        }
    }
    std::cout << "fuzz_validate: " << cases << " cases: " << count[outcome::ok] << " valid, "
              << count[outcome::located] << " located errors, " << count[outcome::crash]
              << " crashes, " << count[outcome::hang] << " hangs, " << count[outcome::internal]
              << " internal errors, " << count[outcome::unlocated] << " unlocated messages\n";
    EXPECT_EQ(count[outcome::ok] + count[outcome::located], cases);
    EXPECT_GT(count[outcome::located], cases / 2);  // the mutations do break most files
    for (const auto& f: failures) {
        ADD_FAILURE() << f;
    }
}

}  // namespace
