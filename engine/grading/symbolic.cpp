// Symbolic equivalence: a normalised LaTeX answer becomes infix that GiNaC's parser reads, and two
// answers are equal when their difference simplifies to zero or agrees at random points (what the
// sympy-based graders, math_verify and Qwen's evaluator, decide with simplify()).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <vector>

#include "grading_internal.h"
#include "rudder/grading.h"

#ifdef RUDDER_HAVE_GINAC
#include <ginac/ginac.h>
#endif

namespace rudder::grading::detail {

namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }

// Recursive-descent over LaTeX that writes infix, inserting the multiplications LaTeX leaves out
// ("2\sqrt{3}x" -> "2*sqrt(3)*x").  Anything outside arithmetic, powers, roots and the common
// functions makes the whole conversion fail: then only the string comparison decides.
class Converter {
public:
    explicit Converter(const std::string& s) : s_(s) {}

    std::optional<std::string> run()
    {
        if (s_.size() > 400) return std::nullopt;
        std::string out;
        if (!sequence(s_.size(), out) || out.empty()) return std::nullopt;
        return out;
    }

private:
    const std::string& s_;
    size_t i_ = 0;
    int depth_ = 0;

    enum Kind { Start, Value, Operator };

    static void append(std::string& out, Kind& last, Kind kind, const std::string& text, bool valueStart)
    {
        if (last == Value && valueStart) out += "*";
        out += text;
        last = kind;
    }

    // One {...} group (or a single character) as parenthesised infix.
    bool group(std::string& out)
    {
        if (i_ >= s_.size()) return false;
        if (s_[i_] == '{') {
            const size_t close = matchBrace(s_, i_);
            if (close == std::string::npos) return false;
            ++i_;
            std::string inner;
            if (!sequence(close, inner) || inner.empty()) return false;
            i_ = close + 1;
            out = "(" + inner + ")";
            return true;
        }
        if (isDigit(s_[i_]) || std::isalpha(static_cast<unsigned char>(s_[i_]))) {
            out = "(" + letter(s_[i_++]) + ")";
            return true;
        }
        if (s_[i_] == '\\') {   // \frac\pi2
            std::string inner;
            Kind k = Start;
            if (!command(inner, k)) return false;
            out = "(" + inner + ")";
            return true;
        }
        return false;
    }

    static std::string letter(char c)
    {
        if (c == 'i') return "I";         // MATH writes the imaginary unit as i
        if (c == 'I') return "sym_I";     // ... and GiNaC reads I as it
        return std::string(1, c);
    }

    bool command(std::string& out, Kind& last)
    {
        size_t j = i_ + 1;
        while (j < s_.size() && std::isalpha(static_cast<unsigned char>(s_[j]))) ++j;
        const std::string name = s_.substr(i_ + 1, j - i_ - 1);
        i_ = j;
        if (name == "frac") {
            std::string a, b;
            if (!group(a) || !group(b)) return false;
            append(out, last, Value, "(" + a + "/" + b + ")", true);
            return true;
        }
        if (name == "sqrt") {
            std::string index;
            if (i_ < s_.size() && s_[i_] == '[') {
                const size_t close = s_.find(']', i_);
                if (close == std::string::npos) return false;
                const std::string n = s_.substr(i_ + 1, close - i_ - 1);
                if (n.empty() || n.size() > 2 || !std::all_of(n.begin(), n.end(), isDigit)) return false;
                index = n;
                i_ = close + 1;
            }
            std::string a;
            if (!group(a)) return false;
            append(out, last, Value, index.empty() ? "sqrt" + a : "(" + a + "^(1/" + index + "))", true);
            return true;
        }
        if (name == "pi") { append(out, last, Value, "Pi", true); return true; }
        if (name == "cdot" || name == "times") { append(out, last, Operator, "*", false); return true; }
        if (name == "div") { append(out, last, Operator, "/", false); return true; }
        if (name == "sin" || name == "cos" || name == "tan" || name == "ln" || name == "exp") {
            const std::string fn = name == "ln" ? "log" : name;
            std::string a;
            if (i_ < s_.size() && s_[i_] == '(') {
                // \sin(x): the parenthesised argument
                int d = 0;
                size_t k = i_;
                for (; k < s_.size(); ++k) {
                    if (s_[k] == '(') ++d;
                    else if (s_[k] == ')' && --d == 0) break;
                }
                if (k >= s_.size()) return false;
                ++i_;
                std::string inner;
                if (!sequence(k, inner) || inner.empty()) return false;
                i_ = k + 1;
                a = "(" + inner + ")";
            } else if (!group(a)) {
                return false;
            }
            append(out, last, Value, fn + a, true);
            return true;
        }
        return false;   // \infty, \pm, \cup, \le, \in, \angle ... : not an expression GiNaC compares
    }

    bool sequence(size_t end, std::string& out)
    {
        if (++depth_ > 50) return false;
        Kind last = Start;
        while (i_ < end) {
            const char c = s_[i_];
            if (isDigit(c) || (c == '.' && i_ + 1 < end && isDigit(s_[i_ + 1]))) {
                size_t j = i_;
                while (j < end && (isDigit(s_[j]) || s_[j] == '.')) ++j;
                const std::string num = s_.substr(i_, j - i_);
                if (num.size() > 30 || std::count(num.begin(), num.end(), '.') > 1) return false;
                append(out, last, Value, num, true);
                i_ = j;
            } else if (std::isalpha(static_cast<unsigned char>(c))) {
                append(out, last, Value, letter(c), true);
                ++i_;
            } else if (c == '\\') {
                if (!command(out, last)) return false;
            } else if (c == '^') {
                ++i_;
                std::string e;
                if (!group(e)) return false;
                // A huge exact power (2^{100000}) would take GiNaC minutes: refuse.
                for (size_t k = 0; k < e.size();) {
                    if (!isDigit(e[k])) { ++k; continue; }
                    size_t j = k;
                    while (j < e.size() && isDigit(e[j])) ++j;
                    if (j - k > 4 || std::atoi(e.substr(k, j - k).c_str()) > 1000) return false;
                    k = j;
                }
                out += "^" + e;
                last = Value;
            } else if (c == '(' || c == '[' || c == '{') {
                const char closeCh = c == '(' ? ')' : c == '[' ? ']' : '}';
                int d = 0;
                size_t k = i_;
                for (; k < end; ++k) {
                    if (s_[k] == c) ++d;
                    else if (s_[k] == closeCh && --d == 0) break;
                }
                if (k >= end) return false;
                ++i_;
                std::string inner;
                if (!sequence(k, inner) || inner.empty()) return false;
                i_ = k + 1;
                append(out, last, Value, "(" + inner + ")", true);
            } else if (c == '+' || c == '-' || c == '*' || c == '/') {
                append(out, last, Operator, std::string(1, c), false);
                ++i_;
            } else {
                return false;   // = < > , | ! _ ' ...
            }
        }
        --depth_;
        return true;
    }
};

} // namespace

std::optional<std::string> toInfix(const std::string& latex) { return Converter(latex).run(); }

#ifdef RUDDER_HAVE_GINAC

namespace {

std::optional<double> magnitude(const GiNaC::ex& e)
{
    const GiNaC::ex v = e.evalf();
    if (!GiNaC::is_a<GiNaC::numeric>(v)) return std::nullopt;
    const double m = GiNaC::abs(GiNaC::ex_to<GiNaC::numeric>(v)).to_double();
    if (!std::isfinite(m)) return std::nullopt;
    return m;
}


} // namespace

bool symbolicEqual(const std::string& a, const std::string& b)
{
    const auto ia = toInfix(a), ib = toInfix(b);
    if (!ia || !ib) return false;
    try {
        GiNaC::parser reader;   // one symbol table, so x means the same symbol on both sides
        const GiNaC::ex ea = reader(*ia), eb = reader(*ib);
        const GiNaC::ex d = ea - eb;
        const auto& syms = reader.get_syms();
        if (syms.empty()) {
            const auto m = magnitude(d), s = magnitude(eb);
            return m && s && numbersClose(*m, *s);
        }
        if (d.normal().is_zero()) return true;
        // Agreement at random rational points (a non-zero rational function vanishes on a set of
        // measure zero); a point where either side is undefined is skipped.
        int agreed = 0;
        for (int k = 0; k < 5 && agreed < 3; ++k) {
            GiNaC::exmap at;
            int n = 0;
            for (const auto& kv : syms) at[kv.second] = GiNaC::numeric(3 + 7 * k + 5 * n++, 11 + 2 * k);
            const auto m = magnitude(d.subs(at)), s = magnitude(eb.subs(at));
            if (!m || !s) continue;
            if (!numbersClose(*m, *s)) return false;
            ++agreed;
        }
        return agreed >= 2;
    } catch (...) {
        return false;   // a parse error, a pole: not provably equal
    }
}

std::optional<double> numericValue(const std::string& a)
{
    const auto ia = toInfix(a);
    if (!ia) return std::nullopt;
    try {
        GiNaC::parser reader;
        const GiNaC::ex e = reader(*ia);
        if (!reader.get_syms().empty()) return std::nullopt;
        const GiNaC::ex v = e.evalf();
        if (!GiNaC::is_a<GiNaC::numeric>(v) || !GiNaC::ex_to<GiNaC::numeric>(v).is_real()) return std::nullopt;
        const double x = GiNaC::ex_to<GiNaC::numeric>(v).to_double();
        if (!std::isfinite(x)) return std::nullopt;
        return x;
    } catch (...) {
        return std::nullopt;
    }
}

#else

// Without GiNaC: numbers and plain fractions still compare by value.
namespace {
std::optional<double> evalSimple(const std::string& infix) { return parseNumber(infix); }
} // namespace
bool symbolicEqual(const std::string& a, const std::string& b)
{
    const auto x = numericValue(a), y = numericValue(b);
    return x && y && numbersClose(std::fabs(*x - *y), *y);
}
std::optional<double> numericValue(const std::string& a)
{
    // \frac{p}{q} of two numbers only.
    if (a.rfind("\\frac{", 0) == 0) {
        const size_t c1 = matchBrace(a, 5);
        if (c1 == std::string::npos || c1 + 1 >= a.size() || a[c1 + 1] != '{') return std::nullopt;
        const size_t c2 = matchBrace(a, c1 + 1);
        if (c2 != a.size() - 1) return std::nullopt;
        const auto p = evalSimple(a.substr(6, c1 - 6)), q = evalSimple(a.substr(c1 + 2, c2 - c1 - 2));
        if (p && q && *q != 0) return *p / *q;
    }
    return parseNumber(a);
}

#endif

} // namespace rudder::grading::detail

namespace rudder::grading {
bool haveSymbolic()
{
#ifdef RUDDER_HAVE_GINAC
    return true;
#else
    return false;
#endif
}
} // namespace rudder::grading
