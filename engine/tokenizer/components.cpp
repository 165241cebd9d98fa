// Normalizers, pre-tokenizers and decoders of tokenizer.json, each with the semantics of the
// same-named component in Hugging Face's tokenizers.
#include <algorithm>

#include "pipeline.h"
#include "rudder/error.h"

namespace rudder::tok {

using nlohmann::json;

namespace {

// ---- helpers --------------------------------------------------------------------------------

std::string typeOf(const json& j, const Origin& o)
{
    if (!j.is_object()) throw Error(o.file, o.field, "expected an object");
    auto it = j.find("type");
    if (it == j.end() || !it->is_string()) throw Error(o.file, o.field + ".type", "missing");
    return it->get<std::string>();
}

std::string strField(const json& j, const char* key, const Origin& o, const std::string& def = {})
{
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return def;
    if (!it->is_string()) throw Error(o.file, o.field + "." + key, "expected a string");
    return it->get<std::string>();
}

bool boolField(const json& j, const char* key, const Origin& o, bool def)
{
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return def;
    if (!it->is_boolean()) throw Error(o.file, o.field + "." + key, "expected true or false");
    return it->get<bool>();
}

// {"String": "..."} or {"Regex": "..."}
std::unique_ptr<Regex> patternField(const json& j, const Origin& o)
{
    auto it = j.find("pattern");
    if (it == j.end() || !it->is_object()) throw Error(o.file, o.field + ".pattern", "missing");
    try {
        if (it->contains("String") && (*it)["String"].is_string())
            return std::make_unique<Regex>((*it)["String"].get<std::string>(), true);
        if (it->contains("Regex") && (*it)["Regex"].is_string())
            return std::make_unique<Regex>((*it)["Regex"].get<std::string>(), false);
    } catch (const std::invalid_argument& e) {
        throw Error(o.file, o.field + ".pattern", e.what());
    }
    throw Error(o.file, o.field + ".pattern", "expected {\"String\": ...} or {\"Regex\": ...}");
}

std::string replaceAll(const std::string& s, const Regex& re, const std::string& content)
{
    thread_local std::vector<std::pair<size_t, size_t>> m;
    re.findAll(s, m);
    if (m.empty()) return s;
    std::string out;
    out.reserve(s.size() + m.size() * content.size());
    size_t prev = 0;
    for (auto [a, b] : m) {
        out.append(s, prev, a - prev);
        out += content;
        prev = b;
    }
    out.append(s, prev, std::string::npos);
    return out;
}

// The library's SplitDelimiterBehavior.
enum class Behavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

Behavior behaviorField(const json& j, const Origin& o, Behavior def)
{
    std::string b = strField(j, "behavior", o);
    if (b.empty()) return def;
    if (b == "Removed") return Behavior::Removed;
    if (b == "Isolated") return Behavior::Isolated;
    if (b == "MergedWithPrevious") return Behavior::MergedWithPrevious;
    if (b == "MergedWithNext") return Behavior::MergedWithNext;
    if (b == "Contiguous") return Behavior::Contiguous;
    throw Error(o.file, o.field + ".behavior", "unknown split behavior \"" + b + "\"");
}

struct Span {
    size_t a, b;
    bool match;
};

// NormalizedString::split: turns a covering of s by (span, is_match) into the pieces.
void applySplit(const Word& w, std::vector<Span>& spans, Behavior behavior, std::vector<Word>& out)
{
    std::vector<std::pair<size_t, size_t>> pieces;
    switch (behavior) {
    case Behavior::Isolated:
        for (auto& s : spans) pieces.emplace_back(s.a, s.b);
        break;
    case Behavior::Removed:
        for (auto& s : spans) if (!s.match) pieces.emplace_back(s.a, s.b);
        break;
    case Behavior::MergedWithPrevious: {
        bool prevMatch = false;
        for (auto& s : spans) {
            if (s.match && !prevMatch && !pieces.empty()) pieces.back().second = s.b;
            else pieces.emplace_back(s.a, s.b);
            prevMatch = s.match;
        }
        break;
    }
    case Behavior::MergedWithNext: {
        bool prevMatch = false;
        for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
            if (it->match && !prevMatch && !pieces.empty()) pieces.back().first = it->a;
            else pieces.emplace_back(it->a, it->b);
            prevMatch = it->match;
        }
        std::reverse(pieces.begin(), pieces.end());
        break;
    }
    case Behavior::Contiguous: {
        bool prevMatch = false;
        for (auto& s : spans) {
            if (s.match == prevMatch && !pieces.empty()) pieces.back().second = s.b;
            else pieces.emplace_back(s.a, s.b);
            prevMatch = s.match;
        }
        break;
    }
    }
    for (auto [a, b] : pieces)
        if (b > a) out.push_back({w.text.substr(a, b - a), w.atStart && a == 0});
}

void spansFromMatches(size_t n, const std::vector<std::pair<size_t, size_t>>& m, bool invert, std::vector<Span>& spans)
{
    spans.clear();
    size_t prev = 0;
    for (auto [a, b] : m) {
        if (prev != a) spans.push_back({prev, a, invert});
        spans.push_back({a, b, !invert});
        prev = b;
    }
    if (prev != n) spans.push_back({prev, n, invert});
}

template <class Pred>
void spansFromChars(const std::string& s, Pred pred, std::vector<Span>& spans)
{
    spans.clear();
    size_t last = 0;
    for (size_t i = 0; i < s.size();) {
        size_t j = i;
        uint32_t c = nextChar(s, j);
        if (pred(c)) {
            if (last < i) spans.push_back({last, i, false});
            spans.push_back({i, j, true});
            last = j;
        }
        i = j;
    }
    if (last < s.size()) spans.push_back({last, s.size(), false});
}

// GPT-2's byte <-> printable character table (bytes_to_unicode).
struct ByteTable {
    std::string byteChar[256];
    int16_t charByte[0x144];
    ByteTable()
    {
        std::fill(std::begin(charByte), std::end(charByte), int16_t(-1));
        int n = 0;
        for (int b = 0; b < 256; ++b) {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            uint32_t cp = printable ? uint32_t(b) : uint32_t(256 + n++);
            appendChar(byteChar[b], cp);
            charByte[cp] = int16_t(b);
        }
    }
};

const ByteTable& byteTable()
{
    static const ByteTable t;
    return t;
}

const char* kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

// ---- normalizers ----------------------------------------------------------------------------

struct NormSequence : Normalizer {
    std::vector<std::unique_ptr<Normalizer>> parts;
    void normalize(std::string& s) const override
    {
        for (auto& p : parts) p->normalize(s);
    }
};

struct NormUnicode : Normalizer {
    bool compose, compat;
    NormUnicode(bool c, bool k) : compose(c), compat(k) {}
    void normalize(std::string& s) const override { s = unicodeNormalize(s, compose, compat); }
};

struct NormLowercase : Normalizer {
    void normalize(std::string& s) const override { s = lowercase(s); }
};

struct NormStrip : Normalizer {
    bool left, right;
    NormStrip(bool l, bool r) : left(l), right(r) {}
    void normalize(std::string& s) const override
    {
        size_t a = 0, b = s.size();
        if (left) {
            while (a < b) {
                size_t j = a;
                if (!isWhitespace(nextChar(s, j))) break;
                a = j;
            }
        }
        if (right) {
            while (b > a) {
                size_t k = b - 1;
                while (k > a && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
                size_t j = k;
                if (!isWhitespace(nextChar(s, j))) break;
                b = k;
            }
        }
        s = s.substr(a, b - a);
    }
};

struct NormStripAccents : Normalizer {
    void normalize(std::string& s) const override
    {
        std::string out;
        for (size_t i = 0; i < s.size();) {
            size_t j = i;
            if (!isCombiningMark(nextChar(s, j))) out.append(s, i, j - i);
            i = j;
        }
        s = std::move(out);
    }
};

struct NormReplace : Normalizer {
    std::unique_ptr<Regex> re;
    std::string content;
    void normalize(std::string& s) const override { s = replaceAll(s, *re, content); }
};

struct NormPrepend : Normalizer {
    std::string prepend;
    void normalize(std::string& s) const override
    {
        if (!s.empty()) s.insert(0, prepend);
    }
};

// ---- pre-tokenizers -------------------------------------------------------------------------

struct PreSequence : PreTokenizer {
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    void split(std::vector<Word>& words) const override
    {
        for (auto& p : parts) p->split(words);
    }
};

struct PreSplit : PreTokenizer {
    std::unique_ptr<Regex> re;
    Behavior behavior = Behavior::Isolated;
    bool invert = false;
    void split(std::vector<Word>& words) const override
    {
        std::vector<Word> out;
        out.reserve(words.size() * 4);
        std::vector<std::pair<size_t, size_t>> m;
        std::vector<Span> spans;
        for (auto& w : words) {
            re->findAll(w.text, m);
            spansFromMatches(w.text.size(), m, invert, spans);
            applySplit(w, spans, behavior, out);
        }
        words.swap(out);
    }
};

struct PreByteLevel : PreTokenizer {
    bool addPrefixSpace = false;
    std::unique_ptr<Regex> re;  // null: use_regex = false
    void split(std::vector<Word>& words) const override
    {
        if (addPrefixSpace || re) {
            std::vector<Word> out;
            std::vector<std::pair<size_t, size_t>> m;
            std::vector<Span> spans;
            for (auto& w : words) {
                if (addPrefixSpace && (w.text.empty() || w.text[0] != ' ')) w.text.insert(0, " ");
                if (!re) {
                    out.push_back(std::move(w));
                    continue;
                }
                re->findAll(w.text, m);
                spansFromMatches(w.text.size(), m, false, spans);
                applySplit(w, spans, Behavior::Isolated, out);
            }
            words.swap(out);
        }
        const auto& t = byteTable();
        for (auto& w : words) {
            std::string mapped;
            mapped.reserve(w.text.size() * 2);
            for (unsigned char b : w.text) mapped += t.byteChar[b];
            w.text = std::move(mapped);
        }
    }
};

struct PreMetaspace : PreTokenizer {
    std::string replacement;  // one character
    uint32_t replacementChar = 0x2581;
    enum Scheme { Always, First, Never } scheme = Always;
    bool splitOn = true;
    void split(std::vector<Word>& words) const override
    {
        std::vector<Word> out;
        std::vector<Span> spans;
        Regex space(" ", true);
        for (auto& w : words) {
            w.text = replaceAll(w.text, space, replacement);
            bool starts = w.text.compare(0, replacement.size(), replacement) == 0;
            if ((scheme == Always && !starts) || (scheme == First && !starts && w.atStart))
                w.text.insert(0, replacement);
            if (!splitOn) {
                out.push_back(std::move(w));
                continue;
            }
            uint32_t rc = replacementChar;
            spansFromChars(w.text, [rc](uint32_t c) { return c == rc; }, spans);
            applySplit(w, spans, Behavior::MergedWithNext, out);
        }
        words.swap(out);
    }
};

template <class Pred>
struct PreCharSplit : PreTokenizer {
    Pred pred;
    Behavior behavior;
    PreCharSplit(Pred p, Behavior b) : pred(p), behavior(b) {}
    void split(std::vector<Word>& words) const override
    {
        std::vector<Word> out;
        std::vector<Span> spans;
        for (auto& w : words) {
            spansFromChars(w.text, pred, spans);
            applySplit(w, spans, behavior, out);
        }
        words.swap(out);
    }
};
template <class Pred>
std::unique_ptr<PreTokenizer> charSplit(Pred p, Behavior b)
{
    return std::make_unique<PreCharSplit<Pred>>(p, b);
}

// ---- decoders -------------------------------------------------------------------------------

struct DecSequence : Decoder {
    std::vector<std::unique_ptr<Decoder>> parts;
    void decodeChain(std::vector<std::string>& t) const override
    {
        for (auto& p : parts) p->decodeChain(t);
    }
};

struct DecByteLevel : Decoder {
    void decodeChain(std::vector<std::string>& tokens) const override
    {
        const auto& t = byteTable();
        std::string bytes;
        for (auto& tok : tokens) {
            // A token made only of table characters becomes bytes; any other stays as it is.
            size_t mark = bytes.size();
            bool all = true;
            for (size_t i = 0; i < tok.size();) {
                uint32_t c = nextChar(tok, i);
                if (c >= 0x144 || t.charByte[c] < 0) { all = false; break; }
                bytes += char(t.charByte[c]);
            }
            if (!all) {
                bytes.resize(mark);
                bytes += tok;
            }
        }
        tokens.assign(1, lossyUtf8(bytes));
    }
};

struct DecReplace : Decoder {
    std::unique_ptr<Regex> re;
    std::string content;
    void decodeChain(std::vector<std::string>& tokens) const override
    {
        for (auto& t : tokens) t = replaceAll(t, *re, content);
    }
};

struct DecByteFallback : Decoder {
    static int hex(char c)
    {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    }
    void decodeChain(std::vector<std::string>& tokens) const override
    {
        std::vector<std::string> out;
        out.reserve(tokens.size());
        std::string pending;
        auto flush = [&] {
            if (pending.empty()) return;
            // Invalid bytes: one U+FFFD per byte token (not from_utf8_lossy).
            if (isValidUtf8(pending)) out.push_back(pending);
            else for (size_t k = 0; k < pending.size(); ++k) out.emplace_back("\xEF\xBF\xBD");
            pending.clear();
        };
        for (auto& t : tokens) {
            if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>' && hex(t[3]) >= 0 && hex(t[4]) >= 0) {
                pending += char(hex(t[3]) * 16 + hex(t[4]));
                continue;
            }
            flush();
            out.push_back(std::move(t));
        }
        flush();
        tokens.swap(out);
    }
};

struct DecFuse : Decoder {
    void decodeChain(std::vector<std::string>& tokens) const override
    {
        std::string all;
        for (auto& t : tokens) all += t;
        tokens.assign(1, std::move(all));
    }
};

struct DecStrip : Decoder {
    uint32_t content = ' ';
    size_t start = 0, stop = 0;
    void decodeChain(std::vector<std::string>& tokens) const override
    {
        for (auto& t : tokens) {
            std::vector<uint32_t> cs;
            for (size_t i = 0; i < t.size();) cs.push_back(nextChar(t, i));
            size_t a = 0, b = cs.size();
            for (size_t i = 0; i < start && i < cs.size() && cs[i] == content; ++i) a = i + 1;
            for (size_t i = 0; i < stop && i < cs.size() && cs[cs.size() - 1 - i] == content; ++i) b = cs.size() - 1 - i;
            std::string r;
            for (size_t i = a; i < b; ++i) appendChar(r, cs[i]);
            t = std::move(r);
        }
    }
};

struct DecMetaspace : Decoder {
    uint32_t replacement = 0x2581;
    bool prependNever = false;
    void decodeChain(std::vector<std::string>& tokens) const override
    {
        for (size_t k = 0; k < tokens.size(); ++k) {
            std::string r;
            const std::string& t = tokens[k];
            for (size_t i = 0; i < t.size();) {
                size_t j = i;
                uint32_t c = nextChar(t, j);
                if (c == replacement) {
                    if (k != 0 || prependNever) r += ' ';
                } else {
                    r.append(t, i, j - i);
                }
                i = j;
            }
            tokens[k] = std::move(r);
        }
    }
};

struct DecBpeSuffix : Decoder {
    std::string suffix;
    void decodeChain(std::vector<std::string>& tokens) const override
    {
        Regex re(suffix, true);
        for (size_t k = 0; k < tokens.size(); ++k)
            tokens[k] = replaceAll(tokens[k], re, k + 1 == tokens.size() ? "" : " ");
    }
};

uint32_t singleChar(const std::string& s, const Origin& o, const char* field)
{
    size_t i = 0;
    if (s.empty()) throw Error(o.file, o.field + "." + field, "must be one character");
    uint32_t c = nextChar(s, i);
    if (i != s.size()) throw Error(o.file, o.field + "." + field, "must be one character");
    return c;
}

const json& arrayField(const json& j, const char* key, const Origin& o)
{
    auto it = j.find(key);
    if (it == j.end() || !it->is_array()) throw Error(o.file, o.field + "." + key, "expected an array");
    return *it;
}

} // namespace

std::unique_ptr<Normalizer> makeNormalizer(const json& j, const Origin& o)
{
    if (j.is_null()) return nullptr;
    std::string type = typeOf(j, o);
    if (type == "Sequence") {
        auto seq = std::make_unique<NormSequence>();
        const auto& arr = arrayField(j, "normalizers", o);
        for (size_t i = 0; i < arr.size(); ++i)
            if (auto n = makeNormalizer(arr[i], o.at("normalizers[" + std::to_string(i) + "]")))
                seq->parts.push_back(std::move(n));
        return seq;
    }
    if (type == "NFC") return std::make_unique<NormUnicode>(true, false);
    if (type == "NFD") return std::make_unique<NormUnicode>(false, false);
    if (type == "NFKC") return std::make_unique<NormUnicode>(true, true);
    if (type == "NFKD") return std::make_unique<NormUnicode>(false, true);
    if (type == "Lowercase") return std::make_unique<NormLowercase>();
    if (type == "StripAccents") return std::make_unique<NormStripAccents>();
    if (type == "Strip")
        return std::make_unique<NormStrip>(boolField(j, "strip_left", o, true), boolField(j, "strip_right", o, true));
    if (type == "Replace") {
        auto r = std::make_unique<NormReplace>();
        r->re = patternField(j, o);
        r->content = strField(j, "content", o);
        return r;
    }
    if (type == "Prepend") {
        auto p = std::make_unique<NormPrepend>();
        p->prepend = strField(j, "prepend", o);
        return p;
    }
    throw Error(o.file, o.field + ".type", "normalizer \"" + type + "\" is not supported");
}

std::unique_ptr<PreTokenizer> makePreTokenizer(const json& j, const Origin& o)
{
    if (j.is_null()) return nullptr;
    std::string type = typeOf(j, o);
    if (type == "Sequence") {
        auto seq = std::make_unique<PreSequence>();
        const auto& arr = arrayField(j, "pretokenizers", o);
        for (size_t i = 0; i < arr.size(); ++i)
            if (auto p = makePreTokenizer(arr[i], o.at("pretokenizers[" + std::to_string(i) + "]")))
                seq->parts.push_back(std::move(p));
        return seq;
    }
    if (type == "Split") {
        auto s = std::make_unique<PreSplit>();
        s->re = patternField(j, o);
        s->behavior = behaviorField(j, o, Behavior::Isolated);
        s->invert = boolField(j, "invert", o, false);
        return s;
    }
    if (type == "ByteLevel") {
        auto b = std::make_unique<PreByteLevel>();
        b->addPrefixSpace = boolField(j, "add_prefix_space", o, true);
        if (boolField(j, "use_regex", o, true)) b->re = std::make_unique<Regex>(kGpt2Pattern);
        return b;
    }
    if (type == "Metaspace") {
        auto m = std::make_unique<PreMetaspace>();
        m->replacement = strField(j, "replacement", o, "\xE2\x96\x81");
        m->replacementChar = singleChar(m->replacement, o, "replacement");
        std::string scheme = strField(j, "prepend_scheme", o);
        if (scheme.empty()) scheme = boolField(j, "add_prefix_space", o, true) ? "always" : "never";
        if (scheme == "always") m->scheme = PreMetaspace::Always;
        else if (scheme == "first") m->scheme = PreMetaspace::First;
        else if (scheme == "never") m->scheme = PreMetaspace::Never;
        else throw Error(o.file, o.field + ".prepend_scheme", "unknown scheme \"" + scheme + "\"");
        m->splitOn = boolField(j, "split", o, true);
        return m;
    }
    if (type == "WhitespaceSplit")
        return charSplit([](uint32_t c) { return isWhitespace(c); }, Behavior::Removed);
    if (type == "Whitespace") {
        auto s = std::make_unique<PreSplit>();
        s->re = std::make_unique<Regex>("\\w+|[^\\w\\s]+");
        s->behavior = Behavior::Removed;
        s->invert = true;
        return s;
    }
    if (type == "Digits") {
        bool individual = boolField(j, "individual_digits", o, false);
        return charSplit([](uint32_t c) { return isNumeric(c); },
                         individual ? Behavior::Isolated : Behavior::Contiguous);
    }
    if (type == "Punctuation")
        return charSplit([](uint32_t c) { return isPunctuation(c); }, behaviorField(j, o, Behavior::Isolated));
    throw Error(o.file, o.field + ".type", "pre-tokenizer \"" + type + "\" is not supported");
}

std::unique_ptr<Decoder> makeDecoder(const json& j, const Origin& o)
{
    if (j.is_null()) return nullptr;
    std::string type = typeOf(j, o);
    if (type == "Sequence") {
        auto seq = std::make_unique<DecSequence>();
        const auto& arr = arrayField(j, "decoders", o);
        for (size_t i = 0; i < arr.size(); ++i)
            if (auto d = makeDecoder(arr[i], o.at("decoders[" + std::to_string(i) + "]")))
                seq->parts.push_back(std::move(d));
        return seq;
    }
    if (type == "ByteLevel") return std::make_unique<DecByteLevel>();
    if (type == "ByteFallback") return std::make_unique<DecByteFallback>();
    if (type == "Fuse") return std::make_unique<DecFuse>();
    if (type == "Replace") {
        auto r = std::make_unique<DecReplace>();
        r->re = patternField(j, o);
        r->content = strField(j, "content", o);
        return r;
    }
    if (type == "Strip") {
        auto s = std::make_unique<DecStrip>();
        s->content = singleChar(strField(j, "content", o, " "), o, "content");
        auto num = [&](const char* k) -> size_t {
            auto it = j.find(k);
            if (it == j.end() || it->is_null()) return 0;
            if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<int64_t>() >= 0))
                throw Error(o.file, o.field + "." + k, "expected a non-negative integer");
            return it->get<size_t>();
        };
        s->start = num("start");
        s->stop = num("stop");
        return s;
    }
    if (type == "Metaspace") {
        auto m = std::make_unique<DecMetaspace>();
        m->replacement = singleChar(strField(j, "replacement", o, "\xE2\x96\x81"), o, "replacement");
        std::string scheme = strField(j, "prepend_scheme", o);
        if (scheme.empty()) scheme = boolField(j, "add_prefix_space", o, true) ? "always" : "never";
        m->prependNever = scheme == "never";
        return m;
    }
    if (type == "BPEDecoder") {
        auto b = std::make_unique<DecBpeSuffix>();
        b->suffix = strField(j, "suffix", o, "</w>");
        return b;
    }
    throw Error(o.file, o.field + ".type", "decoder \"" + type + "\" is not supported");
}

} // namespace rudder::tok
