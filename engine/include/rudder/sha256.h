// SHA-256 (FIPS 180-4) for model identity and session records: config hashes and weight-file
// fingerprints.  Torch-free and dependency-free (rudder_core); tested against the FIPS 180-4 /
// NIST example vectors and coreutils' sha256sum.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace rudder {

// Streaming digest: update() any number of times, then hex() once.
class Sha256 {
public:
    void update(const void* data, size_t n);
    std::string hex();   // finalises

private:
    void compress(const unsigned char* block);
    // FIPS 180-4 section 5.3.3: initial hash value.
    uint32_t h_[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    unsigned char buf_[64] = {};
    size_t used_ = 0;
    uint64_t length_ = 0;
};

// Lower-case hex digest of `bytes`.
std::string sha256Hex(std::string_view bytes);

// Lower-case hex digest of a file's contents, read in chunks.
// Throws rudder::Error(path, "", ...) when the file cannot be read.
std::string sha256File(const std::string& path);

} // namespace rudder
