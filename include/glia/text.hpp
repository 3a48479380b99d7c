#pragma once
// Human-readable figures for messages and progress lines.

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace glia {

// "12.3 s", "4m05s", "2h10m"; "?" for a negative or non-finite duration.
inline std::string format_duration(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0) {
        return "?";
    }
    if (seconds < 60) {
        return fmt::format("{:.1f} s", seconds);
    }
    const auto total = static_cast<long>(seconds);
    if (total < 3600) {
        return fmt::format("{}m{:02}s", total / 60, total % 60);
    }
    return fmt::format("{}h{:02}m", total / 3600, (total % 3600) / 60);
}

// `text` safe to print on a terminal: control characters (C0, DEL, C1, line breaks included),
// Unicode bidirectional overrides and bytes that are not UTF-8 are escaped ("\x1b", "\n",
// "\u{202e}"); a backslash stays as it is. For user-provided text (file names, keys, values)
// in messages: glia's own messages are single lines of printable text.
inline std::string printable(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    const auto byte = [](unsigned char b) {
        return fmt::format("\\x{:02x}", b);
    };
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            if (c == '\n') {
                out += "\\n";
            } else if (c == '\r') {
                out += "\\r";
            } else if (c == '\t') {
                out += "\\t";
            } else if (c < 0x20 || c == 0x7f) {
                out += byte(c);
            } else {
                out += static_cast<char>(c);
            }
            ++i;
            continue;
        }
        // A UTF-8 sequence: its length from the lead byte, then continuation bytes.
        const std::size_t n = c >= 0xc2 && c <= 0xdf   ? 2
                              : c >= 0xe0 && c <= 0xef ? 3
                              : c >= 0xf0 && c <= 0xf4 ? 4
                                                       : 0;
        std::uint32_t cp = n == 2 ? c & 0x1fu : n == 3 ? c & 0x0fu : c & 0x07u;
        bool valid = n > 0 && i + n <= text.size();
        for (std::size_t k = 1; valid && k < n; ++k) {
            const auto cc = static_cast<unsigned char>(text[i + k]);
            valid = (cc & 0xc0) == 0x80;
            cp = (cp << 6) | (cc & 0x3fu);
        }
        // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8.
        valid = valid && !(n == 3 && cp < 0x800) && !(n == 4 && (cp < 0x10000 || cp > 0x10ffff)) &&
                !(cp >= 0xd800 && cp <= 0xdfff);
        if (!valid) {
            out += byte(c);
            ++i;
            continue;
        }
        const bool control = cp <= 0x9f ||                      // C1 (U+0080..U+009F)
                             (cp >= 0x202a && cp <= 0x202e) ||  // bidi embeddings, overrides
                             (cp >= 0x2066 && cp <= 0x2069) ||  // bidi isolates
                             cp == 0x2028 || cp == 0x2029;      // line, paragraph separators
        if (control) {
            out += fmt::format("\\u{{{:04x}}}", cp);
        } else {
            out.append(text.substr(i, n));
        }
        i += n;
    }
    return out;
}

}  // namespace glia
