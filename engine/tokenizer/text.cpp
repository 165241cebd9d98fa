#include "text.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <utf8proc.h>

#include <cstdlib>
#include <stdexcept>

namespace rudder::tok {

uint32_t nextChar(std::string_view s, size_t& i)
{
    const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + i;
    unsigned char b = p[0];
    if (b < 0x80) { i += 1; return b; }
    if ((b >> 5) == 0x6 && i + 1 < s.size()) { i += 2; return ((b & 0x1Fu) << 6) | (p[1] & 0x3Fu); }
    if ((b >> 4) == 0xE && i + 2 < s.size()) {
        i += 3;
        return ((b & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
    }
    if ((b >> 3) == 0x1E && i + 3 < s.size()) {
        i += 4;
        return ((b & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6) | (p[3] & 0x3Fu);
    }
    i += 1;
    return 0xFFFD;
}

void appendChar(std::string& out, uint32_t cp)
{
    if (cp < 0x80) {
        out += char(cp);
    } else if (cp < 0x800) {
        out += char(0xC0 | (cp >> 6));
        out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += char(0xE0 | (cp >> 12));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    } else {
        out += char(0xF0 | (cp >> 18));
        out += char(0x80 | ((cp >> 12) & 0x3F));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    }
}

namespace {

// Length of the valid UTF-8 character at p (n bytes left), or 0 if invalid; `valid` receives
// how many bytes form a valid prefix (Unicode's "maximal subpart", which Rust replaces by one
// U+FFFD).
size_t validCharLen(const unsigned char* p, size_t n, size_t& valid)
{
    unsigned char b = p[0];
    valid = 1;
    if (b < 0x80) return 1;
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) need = 1;
    else if (b == 0xE0) { need = 2; lo = 0xA0; }
    else if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) need = 2;
    else if (b == 0xED) { need = 2; hi = 0x9F; }
    else if (b == 0xF0) { need = 3; lo = 0x90; }
    else if (b >= 0xF1 && b <= 0xF3) need = 3;
    else if (b == 0xF4) { need = 3; hi = 0x8F; }
    else return 0;
    for (size_t k = 1; k <= need; ++k) {
        if (k >= n) return 0;
        unsigned char c = p[k];
        unsigned char l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
        if (c < l || c > h) return 0;
        valid = k + 1;
    }
    return need + 1;
}

} // namespace

bool isValidUtf8(std::string_view s)
{
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    size_t i = 0, n = s.size(), valid;
    while (i < n) {
        if (p[i] < 0x80) { ++i; continue; }
        size_t len = validCharLen(p + i, n - i, valid);
        if (!len) return false;
        i += len;
    }
    return true;
}

std::string lossyUtf8(std::string_view s)
{
    if (isValidUtf8(s)) return std::string(s);
    std::string out;
    out.reserve(s.size() + 8);
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    size_t i = 0, n = s.size(), valid;
    while (i < n) {
        size_t len = validCharLen(p + i, n - i, valid);
        if (len) {
            out.append(s.data() + i, len);
            i += len;
        } else {
            out += "\xEF\xBF\xBD";
            i += valid;
        }
    }
    return out;
}

bool isWhitespace(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

bool isNumeric(uint32_t c)
{
    auto cat = utf8proc_category(utf8proc_int32_t(c));
    return cat == UTF8PROC_CATEGORY_ND || cat == UTF8PROC_CATEGORY_NL || cat == UTF8PROC_CATEGORY_NO;
}

bool isAlphanumeric(uint32_t c)
{
    auto cat = utf8proc_category(utf8proc_int32_t(c));
    return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) || isNumeric(c);
}

bool isPunctuation(uint32_t c)
{
    if (c < 0x80) return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) ||
                         (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
    auto cat = utf8proc_category(utf8proc_int32_t(c));
    return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
}

bool isCombiningMark(uint32_t c)
{
    auto cat = utf8proc_category(utf8proc_int32_t(c));
    return cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_MC || cat == UTF8PROC_CATEGORY_ME;
}

std::string unicodeNormalize(std::string_view s, bool compose, bool compat)
{
    if (s.empty()) return {};
    // ASCII is invariant under every normalization form.
    bool ascii = true;
    for (char ch : s) if (static_cast<unsigned char>(ch) >= 0x80) { ascii = false; break; }
    if (ascii) return std::string(s);
    int opts = UTF8PROC_STABLE | (compose ? UTF8PROC_COMPOSE : UTF8PROC_DECOMPOSE) |
               (compat ? UTF8PROC_COMPAT : 0);
    utf8proc_uint8_t* out = nullptr;
    auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                          utf8proc_ssize_t(s.size()), &out, utf8proc_option_t(opts));
    if (n < 0) return std::string(s);
    std::string r(reinterpret_cast<char*>(out), size_t(n));
    std::free(out);
    return r;
}

std::string lowercase(std::string_view s)
{
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
        uint32_t c = nextChar(s, i);
        if (c == 0x130) { out += "i\xCC\x87"; continue; }  // Rust: 'İ' -> "i̇"
        appendChar(out, uint32_t(utf8proc_tolower(utf8proc_int32_t(c))));
    }
    return out;
}

// ---- Regex ----------------------------------------------------------------------------------

namespace {

const char* kWhiteSpaceClass =
    "\\x{09}-\\x{0D}\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}"
    "\\x{202F}\\x{205F}\\x{3000}";

// Oniguruma's \s is Unicode White_Space; PCRE2's (with UCP) differs (e.g. U+0085).
std::string rewriteWhitespace(const std::string& p)
{
    std::string out;
    bool inClass = false;
    for (size_t i = 0; i < p.size(); ++i) {
        char c = p[i];
        if (c == '\\' && i + 1 < p.size()) {
            char e = p[i + 1];
            if (e == 's') {
                out += inClass ? std::string(kWhiteSpaceClass) : "[" + std::string(kWhiteSpaceClass) + "]";
            } else if (e == 'S' && !inClass) {
                out += "[^" + std::string(kWhiteSpaceClass) + "]";
            } else {
                out += c;
                out += e;
            }
            ++i;
            continue;
        }
        if (!inClass && c == '[') {
            inClass = true;
            out += c;
            // A ']' right after '[' or '[^' is a literal.
            if (i + 1 < p.size() && p[i + 1] == '^') { out += '^'; ++i; }
            if (i + 1 < p.size() && p[i + 1] == ']') { out += ']'; ++i; }
            continue;
        }
        if (inClass && c == '[' && i + 1 < p.size() && p[i + 1] == ':') {
            size_t e = p.find(":]", i + 2);
            if (e != std::string::npos) {
                out.append(p, i, e + 2 - i);
                i = e + 1;
                continue;
            }
        }
        if (inClass && c == ']') inClass = false;
        out += c;
    }
    return out;
}

struct MatchState {
    pcre2_match_data* md = nullptr;
    pcre2_match_context* mc = nullptr;
    pcre2_jit_stack* js = nullptr;
    MatchState()
    {
        md = pcre2_match_data_create(1, nullptr);
        mc = pcre2_match_context_create(nullptr);
        js = pcre2_jit_stack_create(32 * 1024, 4 * 1024 * 1024, nullptr);
        pcre2_jit_stack_assign(mc, nullptr, js);
    }
    ~MatchState()
    {
        pcre2_match_data_free(md);
        pcre2_match_context_free(mc);
        pcre2_jit_stack_free(js);
    }
};

MatchState& matchState()
{
    thread_local MatchState st;
    return st;
}

} // namespace

Regex::Regex(const std::string& pattern, bool literal) : pattern_(pattern), literal_(literal)
{
    if (literal) return;  // plain substring search, no PCRE2 needed
    std::string p = rewriteWhitespace(pattern);
    int err = 0;
    PCRE2_SIZE off = 0;
    auto* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(p.data()), p.size(), PCRE2_UTF | PCRE2_UCP,
                               &err, &off, nullptr);
    if (!code) {
        PCRE2_UCHAR buf[256];
        pcre2_get_error_message(err, buf, sizeof buf);
        throw std::invalid_argument("invalid regex at offset " + std::to_string(off) + ": " +
                                    reinterpret_cast<char*>(buf));
    }
    jit_ = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
    code_ = code;
}

Regex::~Regex()
{
    if (code_) pcre2_code_free(static_cast<pcre2_code*>(code_));
}

void Regex::findAll(std::string_view s, std::vector<std::pair<size_t, size_t>>& out) const
{
    out.clear();
    if (literal_) {
        if (pattern_.empty()) return;
        for (size_t p = s.find(pattern_); p != std::string_view::npos; p = s.find(pattern_, p + pattern_.size()))
            out.emplace_back(p, p + pattern_.size());
        return;
    }
    auto& st = matchState();
    auto* code = static_cast<pcre2_code*>(code_);
    auto subject = reinterpret_cast<PCRE2_SPTR>(s.data());
    size_t pos = 0;
    while (pos <= s.size()) {
        int rc = jit_ ? pcre2_jit_match(code, subject, s.size(), pos, 0, st.md, st.mc)
                      : pcre2_match(code, subject, s.size(), pos, PCRE2_NO_UTF_CHECK, st.md, st.mc);
        if (rc < 0) {
            if (rc == PCRE2_ERROR_NOMATCH) break;
            throw std::runtime_error("regex match failed (PCRE2 error " + std::to_string(rc) + ")");
        }
        PCRE2_SIZE* ov = pcre2_get_ovector_pointer(st.md);
        size_t a = ov[0], b = ov[1];
        out.emplace_back(a, b);
        if (b == a) {  // empty match: step over one character
            if (b >= s.size()) break;
            pos = b + utf8Len(static_cast<unsigned char>(s[b]));
        } else {
            pos = b;
        }
    }
}

} // namespace rudder::tok
