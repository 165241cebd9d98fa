// UTF-8 helpers, Unicode predicates (utf8proc) and a PCRE2 regex wrapper for the tokenizer.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rudder::tok {

// Length of the UTF-8 sequence starting with lead byte b (1 for continuation/invalid bytes).
inline size_t utf8Len(unsigned char b)
{
    if (b < 0x80) return 1;
    if ((b >> 5) == 0x6) return 2;
    if ((b >> 4) == 0xE) return 3;
    if ((b >> 3) == 0x1E) return 4;
    return 1;
}

// Decodes the (valid) character at s[i], advancing i.
uint32_t nextChar(std::string_view s, size_t& i);
void appendChar(std::string& out, uint32_t cp);

// Valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF)?
bool isValidUtf8(std::string_view s);
// Rust's String::from_utf8_lossy: each maximal invalid subpart becomes one U+FFFD.
std::string lossyUtf8(std::string_view s);
// Unicode predicates with Rust's meanings (char::is_whitespace, is_alphanumeric, ...).
bool isWhitespace(uint32_t cp);
bool isAlphanumeric(uint32_t cp);
bool isNumeric(uint32_t cp);
bool isPunctuation(uint32_t cp);
bool isCombiningMark(uint32_t cp);

// NFC/NFD/NFKC/NFKD through utf8proc; input must be valid UTF-8.
std::string unicodeNormalize(std::string_view s, bool compose, bool compat);
std::string lowercase(std::string_view s);

// A compiled PCRE2 pattern (UTF + UCP + JIT).  `\s`/`\S` are rewritten to Unicode White_Space,
// the meaning they have in Oniguruma, the engine Hugging Face's tokenizers uses.
class Regex {
public:
    // literal: match the string itself.  Throws std::invalid_argument if it does not compile.
    explicit Regex(const std::string& pattern, bool literal = false);
    ~Regex();
    Regex(const Regex&) = delete;
    Regex& operator=(const Regex&) = delete;
    // All non-overlapping matches [start, end) in s (valid UTF-8), left to right.
    void findAll(std::string_view s, std::vector<std::pair<size_t, size_t>>& out) const;
    const std::string& pattern() const { return pattern_; }

private:
    std::string pattern_;
    void* code_ = nullptr;  // pcre2_code_8*
    bool literal_ = false;
    bool jit_ = false;
};

} // namespace rudder::tok
