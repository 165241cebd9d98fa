// GPT-2's byte -> character table (the ByteLevel pre-tokenizer's alphabet), written out
// independently of the engine's copy so tokenizer tests do not check the engine against itself.
#pragma once
#include <string>

namespace rudder::testing {

inline std::string byteChar(int b)
{
    auto printable = [](int c) { return (c >= 0x21 && c <= 0x7E) || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF); };
    int cp = b;
    if (!printable(b)) {
        int n = 0;   // unprintable bytes map to 256, 257, ... in byte order
        for (int c = 0; c < b; ++c)
            if (!printable(c)) ++n;
        cp = 256 + n;
    }
    std::string s;
    if (cp < 0x80) {
        s += char(cp);
    } else {
        s += char(0xC0 | (cp >> 6));
        s += char(0x80 | (cp & 0x3F));
    }
    return s;
}

} // namespace rudder::testing
