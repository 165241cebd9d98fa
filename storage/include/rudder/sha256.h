// SHA-256 (FIPS 180-4) for session records: config hashes and weight-file fingerprints.
// Torch-free and dependency-free; tested against the FIPS 180-4 / NIST example vectors.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace rudder {

// Lower-case hex digest of `bytes`.
std::string sha256Hex(std::string_view bytes);

// Lower-case hex digest of a file's contents, read in chunks.
// Throws rudder::Error(path, "", ...) when the file cannot be read.
std::string sha256File(const std::string& path);

} // namespace rudder
