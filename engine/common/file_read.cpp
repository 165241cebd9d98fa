#include "rudder/file_read.h"

#include <sys/stat.h>

#include "rudder/error.h"

namespace rudder {

std::string describeSize(std::uint64_t bytes)
{
    if (bytes >= kMiB && bytes % kMiB == 0) return std::to_string(bytes / kMiB) + " MiB";
    return std::to_string(bytes) + " bytes";
}

namespace {
// stat() of a file Rudder may read, or rudder::Error saying why not.
struct stat statReadable(const std::string& path, const std::string& kind)
{
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0) throw Error(path, "", kind + " cannot be read (no such file)");
    if (S_ISDIR(st.st_mode)) throw Error(path, "", kind + " is a directory, not a file");
    // A device (/dev/zero) never ends; a pipe does and is read under the cap like a file.
    if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode))
        throw Error(path, "", kind + " is not a regular file (a device or socket)");
    return st;
}
} // namespace

void checkReadableFile(const std::string& path, const std::string& kind) { statReadable(path, kind); }

std::string readFileCapped(const std::string& path, std::uint64_t cap, const std::string& kind)
{
    const struct stat st = statReadable(path, kind);
    const std::string tooLarge = kind + " is larger than " + describeSize(cap) + ", the most Rudder reads for one";
    if (S_ISREG(st.st_mode) && std::uint64_t(st.st_size) > cap) throw Error(path, "", tooLarge);
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path, "", kind + " cannot be read");
    std::string out;
    char buf[1 << 16];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
        out.append(buf, size_t(in.gcount()));
        if (out.size() > cap) throw Error(path, "", tooLarge);   // a pipe, or a file that grew
    }
    if (in.bad()) throw Error(path, "", kind + " cannot be read");
    return out;
}

LineReader::LineReader(const std::string& path, std::uint64_t lineCap, std::uint64_t fileCap, const std::string& kind)
    : path_(path), kind_(kind), lineCap_(lineCap), fileCap_(fileCap)
{
    checkReadableFile(path, kind);
    in_.open(path, std::ios::binary);
    if (!in_) throw Error(path, "", kind + " cannot be read");
}

bool LineReader::next(std::string& line)
{
    line.clear();
    if (!in_) return false;
    ++line_;
    // Read in chunks: std::getline alone would grow a newline-free 6 GB line without bound.
    for (;;) {
        int c = in_.get();
        if (c == std::char_traits<char>::eof()) return !line.empty();   // a last line without '\n'
        if (++read_ > fileCap_)
            throw Error(path_, "", kind_ + " is larger than " + describeSize(fileCap_) + ", the most Rudder reads for one");
        if (c == '\n') return true;
        line.push_back(char(c));
        if (line.size() > lineCap_)
            throw Error(path_, "line " + std::to_string(line_),
                        "longer than " + describeSize(lineCap_) + ", the most Rudder reads for one line of a " + kind_);
    }
}

} // namespace rudder
