// Answer extraction and normalisation (GRADING.md).  Hand-written scanning, no std::regex: responses
// run to thousands of characters and libstdc++'s regex recurses per character.
#include "rudder/grading.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "grading_internal.h"
#include "rudder/error.h"

namespace rudder::grading {

using namespace detail;

Format parseFormat(const std::string& name)
{
    if (name == "auto") return Format::Auto;
    if (name == "gsm8k") return Format::Gsm8k;
    if (name == "math") return Format::Math;
    throw UsageError("--format", name, "expected auto, gsm8k or math");
}

const char* toString(Format f)
{
    switch (f) {
    case Format::Gsm8k: return "gsm8k";
    case Format::Math: return "math";
    default: return "auto";
    }
}

namespace detail {

std::string trim(const std::string& s)
{
    size_t a = 0, b = s.size();
    while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
    while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
    return s.substr(a, b - a);
}

bool startsWith(const std::string& s, size_t at, const char* lit)
{
    const size_t n = std::char_traits<char>::length(lit);
    return s.size() >= at + n && s.compare(at, n, lit) == 0;
}

void replaceAll(std::string& s, const std::string& from, const std::string& to)
{
    if (from.empty()) return;
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
}

// The group opened by s[open] ('{'), up to its matching '}'; npos when unbalanced.
size_t matchBrace(const std::string& s, size_t open)
{
    int depth = 0;
    for (size_t i = open; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) { ++i; continue; }   // \{ and \} are literal braces
        if (s[i] == '{') ++depth;
        else if (s[i] == '}' && --depth == 0) return i;
    }
    return std::string::npos;
}

std::optional<double> parseNumber(const std::string& t)
{
    if (t.empty() || t.size() > 40) return std::nullopt;
    char* end = nullptr;
    const double v = std::strtod(t.c_str(), &end);
    if (end != t.c_str() + t.size() || !std::isfinite(v)) return std::nullopt;
    // strtod takes hex, "inf" and "nan"; an answer is written in decimal.
    for (char c : t)
        if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E'))
            return std::nullopt;
    return v;
}

} // namespace detail

namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }

// The content of the last \boxed{...} / \fbox{...} (or "\boxed 5"), nested braces kept.
std::optional<std::string> lastBoxed(const std::string& s)
{
    size_t best = std::string::npos, len = 0;
    for (const char* cmd : {"\\boxed", "\\fbox"}) {
        const size_t at = s.rfind(cmd);
        if (at != std::string::npos && (best == std::string::npos || at > best)) { best = at; len = std::strlen(cmd); }
    }
    if (best == std::string::npos) return std::nullopt;
    size_t i = best + len;
    if (i < s.size() && s[i] == '{') {
        const size_t close = matchBrace(s, i);
        if (close == std::string::npos) return std::nullopt;
        return trim(s.substr(i + 1, close - i - 1));
    }
    if (i < s.size() && s[i] == ' ') {   // "\boxed 5": up to the next '$' or whitespace
        size_t j = ++i;
        while (j < s.size() && s[j] != '$' && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
        if (j > i) return s.substr(i, j - i);
    }
    return std::nullopt;
}

// Numbers as written: "-1,234.5", ".5", "3/4" is two numbers.  Returns (start, end) pairs.
std::vector<std::pair<size_t, size_t>> numberSpans(const std::string& s)
{
    std::vector<std::pair<size_t, size_t>> out;
    for (size_t i = 0; i < s.size();) {
        const bool startsNum = isDigit(s[i]) || (s[i] == '.' && i + 1 < s.size() && isDigit(s[i + 1]));
        if (!startsNum) { ++i; continue; }
        size_t a = i;
        if (a > 0 && s[a - 1] == '-') --a;
        size_t j = i;
        while (j < s.size()) {
            if (isDigit(s[j])) { ++j; continue; }
            // A thousands comma: exactly three digits follow.
            if (s[j] == ',' && j + 3 < s.size() && isDigit(s[j + 1]) && isDigit(s[j + 2]) && isDigit(s[j + 3]) &&
                (j + 4 >= s.size() || !isDigit(s[j + 4]))) {
                j += 4;
                continue;
            }
            if (s[j] == '.' && j + 1 < s.size() && isDigit(s[j + 1])) {
                ++j;
                while (j < s.size() && isDigit(s[j])) ++j;
            }
            break;
        }
        out.push_back({a, j});
        i = j;
    }
    return out;
}

std::string cleanNumber(std::string t)
{
    t.erase(std::remove(t.begin(), t.end(), ','), t.end());
    if (t.find('.') != std::string::npos) {   // 18.00 -> 18, 2.50 -> 2.5
        while (!t.empty() && t.back() == '0') t.pop_back();
        if (!t.empty() && t.back() == '.') t.pop_back();
    }
    if (t.empty() || t == "-") t = "0";
    if (t[0] == '.') t = "0" + t;
    if (t.size() > 1 && t[0] == '-' && t[1] == '.') t.insert(1, "0");
    if (t == "-0") t = "0";
    return t;
}

// The first number written in s, cleaned ("$1,200.00 per week" -> "1200"); nullopt when none.
std::optional<std::string> firstNumber(const std::string& s)
{
    const auto spans = numberSpans(s);
    if (spans.empty()) return std::nullopt;
    return cleanNumber(s.substr(spans.front().first, spans.front().second - spans.front().first));
}

std::optional<std::string> lastNumber(const std::string& s)
{
    const auto spans = numberSpans(s);
    if (spans.empty()) return std::nullopt;
    return cleanNumber(s.substr(spans.back().first, spans.back().second - spans.back().first));
}

std::string lower(std::string s)
{
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// GSM8K's calculator annotations "<<16-3=13>>" would otherwise be numbers of the text.
std::string stripCalculator(const std::string& s)
{
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        if (startsWith(s, i, "<<")) {
            const size_t close = s.find(">>", i + 2);
            if (close != std::string::npos && close - i < 200) { i = close + 1; continue; }
        }
        out += s[i];
    }
    return out;
}

// The last "the answer is X", "Answer: X", "A: X" (line start), "ANSWER: X": X to the end of its line.
std::optional<std::string> lastAnswerPhrase(const std::string& s)
{
    const std::string low = lower(s);
    size_t best = std::string::npos, valueAt = 0;
    auto consider = [&](size_t at, size_t value) {
        if (best == std::string::npos || at > best) { best = at; valueAt = value; }
    };
    for (const char* phrase : {"answer is", "answer:", "answer :"}) {
        for (size_t at = low.find(phrase); at != std::string::npos; at = low.find(phrase, at + 1))
            consider(at, at + std::strlen(phrase));
    }
    for (size_t at = 0; at + 1 < s.size(); ++at) {
        if (s[at] == 'A' && s[at + 1] == ':' && (at == 0 || s[at - 1] == '\n')) consider(at, at + 2);
    }
    if (best == std::string::npos) return std::nullopt;
    size_t end = s.find('\n', valueAt);
    std::string v = s.substr(valueAt, end == std::string::npos ? std::string::npos : end - valueAt);
    v = trim(v);
    // "The answer is: $\boxed{..}$" was caught by lastBoxed already; strip markdown and a final period.
    while (!v.empty() && (v.front() == ':' || v.front() == '*' || v.front() == ' ')) v.erase(v.begin());
    while (!v.empty() && (v.back() == '.' || v.back() == '*' || v.back() == ' ')) v.pop_back();
    v = trim(v);
    if (v.empty()) return std::nullopt;
    return v;
}

} // namespace

std::string referenceAnswer(const std::string& reference)
{
    if (const size_t at = reference.rfind("####"); at != std::string::npos) return trim(reference.substr(at + 4));
    if (auto b = lastBoxed(reference)) return *b;
    return trim(reference);
}

Format resolveFormat(Format f, const std::string& reference)
{
    if (f != Format::Auto) return f;
    return reference.find("####") != std::string::npos ? Format::Gsm8k : Format::Math;
}

std::optional<std::string> statedAnswer(const std::string& response)
{
    const std::string text = stripCalculator(response);
    std::optional<std::string> raw = lastBoxed(text);
    if (!raw) {
        if (const size_t at = text.rfind("####"); at != std::string::npos) {
            const size_t end = text.find('\n', at);
            raw = trim(text.substr(at + 4, end == std::string::npos ? std::string::npos : end - at - 4));
            if (raw->empty()) raw.reset();
        }
    }
    if (!raw) raw = lastAnswerPhrase(text);
    return raw;
}

std::optional<std::string> extractAnswer(const std::string& response, Format f)
{
    const std::optional<std::string> raw = statedAnswer(response);
    if (f == Format::Gsm8k) {
        // The answer is a number: the first one in the stated answer ("18 dollars per day, or $126
        // a week" states 18), else the last number of the response.
        if (raw)
            if (auto n = firstNumber(*raw)) return n;
        return lastNumber(stripCalculator(response));
    }
    if (raw) return raw;
    return lastNumber(stripCalculator(response));
}

std::string normalize(const std::string& answer, Format f)
{
    if (f == Format::Gsm8k) {
        if (auto n = firstNumber(answer)) return *n;
        return lower(trim(answer));
    }
    return normalizeLatex(answer);
}

namespace {

// Splits "(a, b)" / "[a, b)" / "a, b" at top-level commas: the delimiters and the elements.
struct Parts {
    char open = 0, close = 0;
    std::vector<std::string> items;
};
Parts splitTop(const std::string& s)
{
    Parts p;
    std::string body = s;
    if (body.size() >= 2 && std::strchr("([{", body.front()) && std::strchr(")]}", body.back())) {
        // Only when the outer pair encloses everything: "(1)(2)" is not a tuple.
        int depth = 0;
        bool encloses = true;
        for (size_t i = 0; i + 1 < body.size(); ++i) {
            if (std::strchr("([{", body[i])) ++depth;
            else if (std::strchr(")]}", body[i]) && --depth == 0) { encloses = false; break; }
        }
        if (encloses) { p.open = body.front(); p.close = body.back(); body = body.substr(1, body.size() - 2); }
    }
    int depth = 0;
    std::string cur;
    for (char c : body) {
        if (std::strchr("([{", c)) ++depth;
        else if (std::strchr(")]}", c)) --depth;
        if (c == ',' && depth == 0) { p.items.push_back(cur); cur.clear(); continue; }
        cur += c;
    }
    p.items.push_back(cur);
    return p;
}

bool scalarEqual(const std::string& a, const std::string& b)
{
    if (a == b) return true;
    const auto x = parseNumber(a), y = parseNumber(b);
    if (x && y) return numbersClose(std::fabs(*x - *y), *y);
    if (a.empty() || b.empty()) return false;
    return symbolicEqual(a, b);
}

bool equivalentNormalized(const std::string& a, const std::string& b, int depth)
{
    if (a == b) return true;
    if (depth > 3) return false;
    const Parts pa = splitTop(a), pb = splitTop(b);
    if (pa.items.size() > 1 || pb.items.size() > 1) {
        if (pa.items.size() != pb.items.size()) return false;
        if (pa.open != pb.open || pa.close != pb.close) {
            // A tuple written without parentheses ("1, 2" against "(1, 2)") still matches; an
            // interval's open or closed end does not.
            if (pa.open && pb.open) return false;
        }
        const size_t n = pa.items.size();
        std::vector<bool> used(n, false);
        const bool ordered = pa.open || pb.open;   // a bare list is a set of solutions
        for (size_t i = 0; i < n; ++i) {
            bool found = false;
            for (size_t j = ordered ? i : 0; j < (ordered ? i + 1 : n); ++j) {
                if (used[j]) continue;
                if (equivalentNormalized(pa.items[i], pb.items[j], depth + 1)) { used[j] = found = true; break; }
            }
            if (!found) return false;
        }
        return true;
    }
    return scalarEqual(a, b);
}

// "x = 5" against "5"; "k=3" against "3" (not "y = 2x + 1" against "y = 2x + 1", compared whole).
std::string dropLhs(const std::string& s)
{
    const size_t eq = s.find('=');
    if (eq == std::string::npos || s.find('=', eq + 1) != std::string::npos) return s;
    const std::string lhs = s.substr(0, eq);
    if (lhs.empty() || lhs.size() > 6) return s;
    for (char c : lhs)
        if (!(std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '\\' || isDigit(c) || c == '{' || c == '}')) return s;
    return s.substr(eq + 1);
}

} // namespace

bool equivalent(const std::string& answer, const std::string& reference, Format f)
{
    if (f == Format::Auto) f = Format::Math;
    const std::string a = normalize(answer, f), b = normalize(reference, f);
    if (a.empty() || b.empty()) return false;
    if (f == Format::Gsm8k) {
        const auto x = parseNumber(a), y = parseNumber(b);
        if (x && y) return numbersClose(std::fabs(*x - *y), *y);
        return a == b;
    }
    if (equivalentNormalized(a, b, 0)) return true;
    // The reference has no "x =": compare the right-hand sides.
    const std::string a2 = dropLhs(a), b2 = dropLhs(b);
    if ((a2 != a || b2 != b) && equivalentNormalized(a2, b2, 0)) return true;
    return false;
}

std::string voteKey(const std::string& answer, Format f)
{
    if (f == Format::Auto) f = Format::Math;
    const std::string n = normalize(answer, f);
    if (parseNumber(n)) return cleanNumber(n);
    if (f == Format::Math) {
        if (const auto v = numericValue(n)) {
            char buf[64];
            std::snprintf(buf, sizeof buf, "%.9g", *v);
            return buf;
        }
    }
    return n;
}

Grade grade(const std::string& response, const std::string& reference, Format f)
{
    Grade g;
    g.format = resolveFormat(f, reference);
    g.reference = referenceAnswer(reference);
    g.extracted = extractAnswer(response, g.format);
    g.correct = g.extracted && equivalent(*g.extracted, g.reference, g.format);
    return g;
}

} // namespace rudder::grading
