// SHA-256 (FIPS 180-4), for model identity in inspectModel().  Internal header.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace rudder {

class Sha256 {
public:
    Sha256();
    void update(const void* data, size_t n);
    std::string hex();   // finalises; call once
    static std::string of(const std::string& data);

private:
    void block(const unsigned char* p);
    uint32_t h_[8];
    unsigned char buf_[64];
    size_t used_ = 0;
    uint64_t bits_ = 0;
};

} // namespace rudder
