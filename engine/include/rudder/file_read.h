// Every file Rudder reads whole (configs, tokenizers, datasets, settings) goes through here, so
// that a 6 GB config.json, a dataset line with no newline or `--config /dev/zero` is refused with
// one message naming the file and the cap, instead of growing until the machine gives out.
#pragma once
#include <cstdint>
#include <fstream>
#include <string>

namespace rudder {

// Caps per kind of file, each far above the largest real one (in parentheses).
constexpr std::uint64_t kMiB = 1024 * 1024;
constexpr std::uint64_t kCapSmallJson = 16 * kMiB;     // config.json, tokenizer_config.json (~50 KB)
constexpr std::uint64_t kCapTokenizer = 256 * kMiB;    // tokenizer.json (Gemma 3: 33 MB)
constexpr std::uint64_t kCapDatasetLine = 16 * kMiB;   // one JSONL prompt (MATH-500's longest: 5 KB)
constexpr std::uint64_t kCapDataset = 4096 * kMiB;     // a whole dataset file
constexpr std::uint64_t kCapDocument = 1024 * kMiB;    // an exported run document read back

// "16 MiB" — how caps are named in messages.
std::string describeSize(std::uint64_t bytes);

// Refuses directories, devices and sockets (regular files and pipes are read, the latter still
// under the cap).  `kind` labels the message ("model config").  Throws rudder::Error.
void checkReadableFile(const std::string& path, const std::string& kind);

// The whole file, or rudder::Error naming the file when it is larger than `cap`.
std::string readFileCapped(const std::string& path, std::uint64_t cap, const std::string& kind);

// Line by line with a cap per line and on the whole file (datasets, JSONL on disk).
class LineReader {
public:
    LineReader(const std::string& path, std::uint64_t lineCap, std::uint64_t fileCap, const std::string& kind);
    // False at the end of the file.  Throws rudder::Error naming the file and line on a cap.
    bool next(std::string& line);
    long lineNumber() const { return line_; }

private:
    std::string path_, kind_;
    std::ifstream in_;
    std::uint64_t lineCap_, fileCap_, read_ = 0;
    long line_ = 0;
};

} // namespace rudder
