#include "io/checkpoint_file.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <ostream>
#include <sstream>
#include <streambuf>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <glia/error.hpp>

#include "io/yaml_document.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

namespace glia::io {

namespace {

namespace fs = std::filesystem;

static_assert(std::endian::native == std::endian::little,
              "checkpoint files are little-endian; this writer stores native integers");

constexpr std::array<char, 8> head_magic = {'G', 'L', 'I', 'A', 'C', 'K', 'P', 'T'};
constexpr std::array<char, 8> end_magic = {'G', 'L', 'I', 'A', 'E', 'N', 'D', '1'};
constexpr std::size_t trailer_bytes = 24;
constexpr std::size_t chunk_bytes = std::size_t{1} << 20;

std::string errno_text(int e) { return std::generic_category().message(e); }

std::uint32_t crc_of(std::uint32_t crc, const void* data, std::size_t n) {
    const auto* p = static_cast<const Bytef*>(data);
    while (n > 0) {  // zlib takes uInt lengths
        const auto k = static_cast<uInt>(std::min<std::size_t>(n, std::size_t{1} << 30));
        crc = static_cast<std::uint32_t>(::crc32(crc, p, k));
        p += k;
        n -= k;
    }
    return crc;
}

// Thrown through the body's ostream when `cancelled` says so.
struct write_cancelled {};

// An output file descriptor with a buffer, a byte count and a CRC-32 of what passed through;
// polls `cancelled` at every buffer flush. Write errors become glia::error.
class checksum_buf final: public std::streambuf {
public:
    checksum_buf(int fd, std::string path, const std::function<bool()>& cancelled):
        fd_(fd), path_(std::move(path)), cancelled_(cancelled), buffer_(chunk_bytes) {
        setp(buffer_.data(), buffer_.data() + buffer_.size());
    }
    std::uint32_t crc() const { return crc_; }
    std::uint64_t bytes() const { return bytes_; }
    void finish() { drain(); }

protected:
    int_type overflow(int_type ch) override {
        drain();
        if (!traits_type::eq_int_type(ch, traits_type::eof())) {
            *pptr() = traits_type::to_char_type(ch);
            pbump(1);
        }
        return traits_type::not_eof(ch);
    }
    std::streamsize xsputn(const char* s, std::streamsize n) override {
        const auto room = epptr() - pptr();
        if (n <= room) {
            std::memcpy(pptr(), s, static_cast<std::size_t>(n));
            pbump(static_cast<int>(n));
            return n;
        }
        drain();
        if (static_cast<std::size_t>(n) < buffer_.size()) {
            std::memcpy(pptr(), s, static_cast<std::size_t>(n));
            pbump(static_cast<int>(n));
            return n;
        }
        put(s, static_cast<std::size_t>(n));  // large arrays go straight to the file
        return n;
    }
    int sync() override {
        drain();
        return 0;
    }

private:
    void drain() {
        const auto n = static_cast<std::size_t>(pptr() - pbase());
        if (n > 0) {
            put(pbase(), n);
        }
        setp(buffer_.data(), buffer_.data() + buffer_.size());
    }
    void put(const char* p, std::size_t n) {
        crc_ = crc_of(crc_, p, n);
        bytes_ += n;
        while (n > 0) {
            const ssize_t k = ::write(fd_, p, n);
            if (k < 0) {
                if (errno == EINTR) {
                    continue;
                }
                throw error(fmt::format("cannot write checkpoint '{}': {}", path_,
                                        errno_text(errno)));
            }
            p += k;
            n -= static_cast<std::size_t>(k);
        }
        if (cancelled_ && cancelled_()) {
            throw write_cancelled{};
        }
    }

    int fd_;
    std::string path_;
    const std::function<bool()>& cancelled_;
    std::vector<char> buffer_;
    std::uint32_t crc_ = 0;
    std::uint64_t bytes_ = 0;
};

void write_all(int fd, const void* data, std::size_t n, const std::string& path) {
    const auto* p = static_cast<const char*>(data);
    while (n > 0) {
        const ssize_t k = ::write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw error(fmt::format("cannot write checkpoint '{}': {}", path, errno_text(errno)));
        }
        p += k;
        n -= static_cast<std::size_t>(k);
    }
}

template <typename T>
void append(std::vector<char>& out, const T& v) {
    const auto* p = reinterpret_cast<const char*>(&v);
    out.insert(out.end(), p, p + sizeof v);
}

std::string header_text(const checkpoint_identity& id, const checkpoint_info& info) {
    return fmt::format(
        "glia checkpoint\n"
        "format: {}\n"
        "byte_order: little-endian\n"
        "glia_version: {}\n"
        "git_hash: {}\n"
        "config_hash: {:016x}\n"
        "step: {}\n"
        "time_ms: {}\n"
        "threads: {}\n"
        "partitions: {}\n"
        "written: {}\n"
        "host: {}\n"
        "output: {}\n",
        checkpoint_format, id.version, id.git_hash, config_hash(id.config_text), info.step,
        info.time_ms, info.threads, info.partitions, info.written, info.host, info.output);
}

// The lines of `text`, for quoting the first difference between two configs.
std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        out.push_back(line);
    }
    return out;
}

std::string shorten(const std::string& s) {
    return s.size() <= 80 ? s : s.substr(0, 77) + "...";
}

// A YAML value as one short line: a scalar as it is written, anything else in flow style.
std::string yaml_value(const YAML::Node& n) {
    if (!n.IsDefined() || n.IsNull()) {
        return "absent";
    }
    if (n.IsScalar()) {
        return "'" + shorten(n.Scalar()) + "'";
    }
    YAML::Node flow = YAML::Clone(n);
    flow.SetStyle(YAML::EmitterStyle::Flow);
    YAML::Emitter e;
    e << flow;
    return "'" + shorten(e.c_str()) + "'";
}

// The differences between two resolved configs as key paths, e.g. "simulation.duration is
// '90 s' in the checkpoint and '100 s' now", in document order (the checkpoint's keys first).
void yaml_diff(const YAML::Node& a, const YAML::Node& b, const std::string& path,
               std::vector<std::string>& out) {
    auto differ = [&](const std::string& where, const YAML::Node& x, const YAML::Node& y) {
        out.push_back(fmt::format("{} is {} in the checkpoint and {} now",
                                  where.empty() ? std::string("the config") : where,
                                  yaml_value(x), yaml_value(y)));
    };
    if (a.IsMap() && b.IsMap()) {
        for (const auto& kv: a) {
            const std::string key = kv.first.Scalar();
            const std::string where = path.empty() ? key : path + "." + key;
            const YAML::Node other = b[key];
            if (!other.IsDefined()) {
                differ(where, kv.second, other);
            } else {
                yaml_diff(kv.second, other, where, out);
            }
        }
        for (const auto& kv: b) {
            const std::string key = kv.first.Scalar();
            if (!a[key].IsDefined()) {
                differ(path.empty() ? key : path + "." + key, YAML::Node(), kv.second);
            }
        }
        return;
    }
    if (a.IsSequence() && b.IsSequence() && a.size() == b.size()) {
        for (std::size_t i = 0; i < a.size(); ++i) {
            yaml_diff(a[i], b[i], fmt::format("{}[{}]", path, i), out);
        }
        return;
    }
    if (a.IsScalar() && b.IsScalar() && a.Scalar() == b.Scalar()) {
        return;
    }
    if (a.IsNull() && b.IsNull()) {
        return;
    }
    differ(path, a, b);
}

// What differs between the checkpoint's config and this run's: key paths with both values
// (at most three, then how many more), else (the same values written differently) the first
// differing line.
std::string config_difference(const std::string& there, const std::string& here) {
    std::vector<std::string> diffs;
    try {
        yaml_diff(load_yaml_document(there, {"the checkpoint's config", false, ""}),
                  load_yaml_document(here, {"this run's config", false, ""}), "", diffs);
    }
    catch (const error&) {
        diffs.clear();  // not YAML (it always is): the line below says what differs
    }
    if (!diffs.empty()) {
        std::string text;
        for (std::size_t i = 0; i < diffs.size() && i < 3; ++i) {
            text += (i > 0 ? "; " : "") + diffs[i];
        }
        if (diffs.size() > 3) {
            text += fmt::format("; and {} more difference{}", diffs.size() - 3,
                                diffs.size() > 4 ? "s" : "");
        }
        return text;
    }
    const auto a = lines_of(there);
    const auto b = lines_of(here);
    std::size_t i = 0;
    while (i < a.size() && i < b.size() && a[i] == b[i]) {
        ++i;
    }
    const std::string x = i < a.size() ? fmt::format("'{}'", shorten(a[i])) : std::string("(the end)");
    const std::string y = i < b.size() ? fmt::format("'{}'", shorten(b[i])) : std::string("(the end)");
    return fmt::format("the same values written differently: line {} of the resolved config is "
                       "{} in the checkpoint and {} now",
                       i + 1, x, y);
}

}  // namespace

std::string checkpoint_path(const std::string& output) { return output + ".ckpt"; }

std::uint64_t config_hash(const std::string& config_text) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (const char c: config_text) {
        h ^= static_cast<unsigned char>(c);
        h *= 0x100000001b3ULL;
    }
    return h;
}

bool write_checkpoint(const std::string& path, const checkpoint_identity& id,
                      const checkpoint_info& info, const std::function<void(std::ostream&)>& body,
                      const std::function<bool()>& cancelled) {
    const std::string tmp = path + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        throw error(fmt::format("cannot write checkpoint '{}': cannot create '{}': {}", path, tmp,
                                errno_text(errno)));
    }
    auto fail = [&](const std::string& what) {
        ::close(fd);
        ::unlink(tmp.c_str());
        throw error(fmt::format("cannot write checkpoint '{}': {}", path, what));
    };
    try {
        // The head: magic, format, header text, config.
        const std::string text = header_text(id, info);
        std::vector<char> head(head_magic.begin(), head_magic.end());
        append(head, checkpoint_format);
        append(head, static_cast<std::uint32_t>(text.size()));
        head.insert(head.end(), text.begin(), text.end());
        append(head, static_cast<std::uint64_t>(id.config_text.size()));
        head.insert(head.end(), id.config_text.begin(), id.config_text.end());
        write_all(fd, head.data(), head.size(), path);
        const std::uint32_t head_crc = crc_of(0, head.data(), head.size());

        checksum_buf buf(fd, path, cancelled);
        {
            std::ostream out(&buf);
            out.exceptions(std::ios::badbit);  // a streambuf exception reaches us as it is
            body(out);
            out.flush();
        }
        buf.finish();

        std::vector<char> trailer;
        append(trailer, buf.bytes());
        append(trailer, buf.crc());
        append(trailer, head_crc);
        trailer.insert(trailer.end(), end_magic.begin(), end_magic.end());
        write_all(fd, trailer.data(), trailer.size(), path);
        if (::fsync(fd) != 0) {
            fail(fmt::format("fsync: {}", errno_text(errno)));
        }
    }
    catch (const write_cancelled&) {
        ::close(fd);
        ::unlink(tmp.c_str());
        return false;
    }
    catch (const error&) {
        ::close(fd);
        ::unlink(tmp.c_str());
        throw;
    }
    catch (const std::ios_base::failure& e) {
        fail(e.what());
    }
    if (::close(fd) != 0) {
        ::unlink(tmp.c_str());
        throw error(fmt::format("cannot write checkpoint '{}': close: {}", path, errno_text(errno)));
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        const int e = errno;
        ::unlink(tmp.c_str());
        throw error(fmt::format("cannot write checkpoint '{}': rename from '{}': {}", path, tmp,
                                errno_text(e)));
    }
    // The rename itself reaches the disk with the directory.
    fs::path dir = fs::path(path).parent_path();
    if (dir.empty()) {
        dir = ".";
    }
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
    return true;
}

checkpoint_header read_checkpoint_header(const std::string& path) {
    auto fail = [&](const std::string& what) {
        return error(fmt::format("checkpoint '{}' {}", path, what));
    };
    std::error_code ec;
    if (!fs::exists(path, ec)) {
        throw fail("does not exist");
    }
    const std::uint64_t size = fs::file_size(path, ec);
    if (ec) {
        throw fail(fmt::format("cannot be read: {}", ec.message()));
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw fail(fmt::format("cannot be opened: {}", errno_text(errno)));
    }
    if (size < 16 + 8 + trailer_bytes) {
        throw fail(fmt::format("is not a glia checkpoint ({} bytes)", size));
    }
    std::vector<char> head(16);
    in.read(head.data(), 16);
    if (!std::equal(head_magic.begin(), head_magic.end(), head.begin())) {
        throw fail("is not a glia checkpoint (no GLIACKPT magic)");
    }
    checkpoint_header h;
    std::uint32_t text_bytes = 0;
    std::memcpy(&h.format, head.data() + 8, 4);
    std::memcpy(&text_bytes, head.data() + 12, 4);
    if (h.format != checkpoint_format) {
        throw fail(fmt::format("has format {}; this glia reads format {}", h.format,
                               checkpoint_format));
    }
    if (16 + std::uint64_t{text_bytes} + 8 + trailer_bytes > size) {
        throw fail("is truncated (its header is cut)");
    }
    head.resize(16 + text_bytes + 8);
    in.read(head.data() + 16, static_cast<std::streamsize>(text_bytes) + 8);
    std::uint64_t config_bytes = 0;
    std::memcpy(&config_bytes, head.data() + 16 + text_bytes, 8);
    if (head.size() + config_bytes + trailer_bytes > size) {
        throw fail("is truncated (its config is cut)");
    }
    const std::size_t config_at = head.size();
    head.resize(config_at + static_cast<std::size_t>(config_bytes));
    in.read(head.data() + config_at, static_cast<std::streamsize>(config_bytes));
    if (!in) {
        throw fail("cannot be read");
    }
    h.config_text.assign(head.data() + config_at, static_cast<std::size_t>(config_bytes));
    h.body_offset = head.size();
    h.file_bytes = size;

    std::array<char, trailer_bytes> trailer{};
    in.seekg(static_cast<std::streamoff>(size - trailer_bytes));
    in.read(trailer.data(), trailer_bytes);
    if (!in || !std::equal(end_magic.begin(), end_magic.end(), trailer.begin() + 16)) {
        throw fail("is incomplete or damaged (no end marker)");
    }
    std::uint32_t body_crc = 0, head_crc = 0;
    std::memcpy(&h.body_bytes, trailer.data(), 8);
    std::memcpy(&body_crc, trailer.data() + 8, 4);
    std::memcpy(&head_crc, trailer.data() + 12, 4);
    if (h.body_offset + h.body_bytes + trailer_bytes != size) {
        throw fail(fmt::format("is damaged: {} bytes, its trailer says {}", size,
                               h.body_offset + h.body_bytes + trailer_bytes));
    }
    if (crc_of(0, head.data(), head.size()) != head_crc) {
        throw fail("is damaged (header checksum mismatch)");
    }
    in.seekg(static_cast<std::streamoff>(h.body_offset));
    std::vector<char> chunk(chunk_bytes);
    std::uint32_t crc = 0;
    for (std::uint64_t left = h.body_bytes; left > 0;) {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, chunk.size()));
        in.read(chunk.data(), static_cast<std::streamsize>(n));
        if (!in) {
            throw fail("cannot be read to its end");
        }
        crc = crc_of(crc, chunk.data(), n);
        left -= n;
    }
    if (crc != body_crc) {
        throw fail("is damaged (data checksum mismatch)");
    }

    // The header text: "key: value" lines.
    std::map<std::string, std::string> kv;
    for (const auto& line: lines_of(std::string(head.data() + 16, text_bytes))) {
        const auto colon = line.find(": ");
        if (colon != std::string::npos) {
            kv[line.substr(0, colon)] = line.substr(colon + 2);
        }
    }
    auto get = [&](const std::string& key) {
        const auto it = kv.find(key);
        if (it == kv.end()) {
            throw fail(fmt::format("is damaged: its header has no '{}'", key));
        }
        return it->second;
    };
    try {
        h.version = get("glia_version");
        h.git_hash = get("git_hash");
        h.config_hash = std::stoull(get("config_hash"), nullptr, 16);
        h.info.step = std::stoll(get("step"));
        h.info.time_ms = std::stod(get("time_ms"));
        h.info.threads = std::stoi(get("threads"));
        h.info.partitions = std::stoi(get("partitions"));
    }
    catch (const std::logic_error&) {  // stoll & co.: invalid_argument, out_of_range
        throw fail("is damaged: a number in its header does not parse");
    }
    h.info.written = kv["written"];
    h.info.host = kv["host"];
    h.info.output = kv["output"];
    return h;
}

std::string check_checkpoint(const std::string& path, const checkpoint_header& h,
                             const checkpoint_identity& id) {
    if (h.version != id.version) {
        throw error(fmt::format("checkpoint '{}' was written by glia {}; this is glia {}: resume "
                                "with the glia that wrote it",
                                path, h.version, id.version));
    }
    if (h.config_hash != config_hash(id.config_text) || h.config_text != id.config_text) {
        throw error(fmt::format("checkpoint '{}' belongs to another experiment: {} (resume with "
                                "the same file and --set options)",
                                path, config_difference(h.config_text, id.config_text)));
    }
    if (h.git_hash != id.git_hash) {
        return fmt::format("checkpoint '{}' was written by glia {} at commit {}, this glia is at "
                           "commit {}",
                           path, h.version, h.git_hash, id.git_hash);
    }
    return "";
}

void read_checkpoint_body(const std::string& path, const checkpoint_header& header,
                          const std::function<void(std::istream&)>& body) {
    std::vector<char> buffer(chunk_bytes);
    std::ifstream in;
    in.rdbuf()->pubsetbuf(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    in.open(path, std::ios::binary);
    if (!in) {
        throw error(fmt::format("checkpoint '{}' cannot be opened: {}", path, errno_text(errno)));
    }
    in.seekg(static_cast<std::streamoff>(header.body_offset));
    try {
        body(in);
    }
    catch (const error& e) {
        std::string what = e.what();
        if (what.rfind("checkpoint: ", 0) == 0) {
            what.erase(0, 12);
        }
        throw error(fmt::format("checkpoint '{}': {}", path, what));
    }
}

}  // namespace glia::io
