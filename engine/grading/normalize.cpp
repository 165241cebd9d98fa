// The normalisation of the MATH and PRM800K graders (Hendrycks et al.'s strip_string, PRM800K's
// normalize_answer), re-derived from what they accept: spacing, $, \left/\right, \dfrac, \text{}
// units, degrees and percent, trailing period, thousands separators, choice letters, case of words.
#include <algorithm>
#include <cctype>

#include "grading_internal.h"

namespace rudder::grading::detail {

namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }

// \text{...} and its kin: a unit after a value is dropped ("5\text{ cm}"), a whole answer is
// unwrapped ("\text{(C)}", "\text{Monday}").
void unwrapText(std::string& s)
{
    for (const char* cmd : {"\\textbf{", "\\textnormal{", "\\textit{", "\\mathrm{", "\\mathbf{", "\\mbox{", "\\text{"}) {
        const std::string c = cmd;
        for (size_t at = s.find(c); at != std::string::npos; at = s.find(c, at)) {
            const size_t open = at + c.size() - 1;
            const size_t close = matchBrace(s, open);
            if (close == std::string::npos) { s.erase(at, c.size() - 1); continue; }
            const std::string inner = s.substr(open + 1, close - open - 1);
            const std::string before = trim(s.substr(0, at));
            const bool unit = !before.empty() && (isDigit(before.back()) || before.back() == '}' || before.back() == ')') &&
                              trim(s.substr(close + 1)).empty() && c != "\\mathbf{";
            s.replace(at, close - at + 1, unit ? std::string() : inner);
        }
    }
}

// \frac12 -> \frac{1}{2}, \frac1{2} -> \frac{1}{2}, \sqrt2 -> \sqrt{2}: one-character arguments braced.
void braceArgs(std::string& s)
{
    for (const char* cmd : {"\\frac", "\\sqrt"}) {
        const std::string c = cmd;
        const int args = c == "\\frac" ? 2 : 1;
        for (size_t at = s.find(c); at != std::string::npos; at = s.find(c, at + 1)) {
            size_t i = at + c.size();
            if (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) continue;   // \fracx is not \frac
            for (int a = 0; a < args && i < s.size(); ++a) {
                if (s[i] == '[') {   // \sqrt[3]{x}: the index stays
                    const size_t close = s.find(']', i);
                    if (close == std::string::npos) break;
                    i = close + 1;
                    --a;
                    continue;
                }
                if (s[i] == '{') {
                    const size_t close = matchBrace(s, i);
                    if (close == std::string::npos) break;
                    i = close + 1;
                } else if (s[i] == '\\') {
                    break;   // \frac\pi2: leave it
                } else {
                    s.insert(i + 1, "}");
                    s.insert(i, "{");
                    i += 3;
                }
            }
        }
    }
}

bool thousands(const std::string& s)
{
    // -?d{1,3}(,ddd)+(.d+)?
    size_t i = s.size() && s[0] == '-' ? 1 : 0;
    size_t lead = 0;
    while (i < s.size() && isDigit(s[i])) { ++i; ++lead; }
    if (lead < 1 || lead > 3) return false;
    int groups = 0;
    while (i < s.size() && s[i] == ',') {
        if (i + 3 >= s.size() || !isDigit(s[i + 1]) || !isDigit(s[i + 2]) || !isDigit(s[i + 3])) return false;
        i += 4;
        ++groups;
    }
    if (groups == 0) return false;
    if (i < s.size() && s[i] == '.') {
        ++i;
        if (i >= s.size()) return false;
        while (i < s.size() && isDigit(s[i])) ++i;
    }
    return i == s.size();
}

} // namespace

std::string normalizeLatex(const std::string& answer)
{
    std::string s = trim(answer);
    if (s.size() > 2000) s.resize(2000);   // an answer, not an essay: bounded work
    // A vector or matrix is compared as the tuple of its entries.
    for (const char* env : {"pmatrix", "bmatrix", "matrix"}) {
        replaceAll(s, std::string("\\begin{") + env + "}", "(");
        replaceAll(s, std::string("\\end{") + env + "}", ")");
    }
    replaceAll(s, "\\\\", ",");
    replaceAll(s, "&", ",");
    for (const char* drop : {"\\displaystyle", "\\left", "\\right", "\\!", "\\,", "\\;", "\\:", "\\quad", "\\qquad", "\\$",
                             "^{\\circ}", "^\\circ", "\\circ", "\\degree", "\xc2\xb0", "\\%", "%", "$", "~", "\\ "})
        replaceAll(s, drop, " ");
    // \left\{ became " \{": braces of a set read as plain braces.
    replaceAll(s, "\\{", "{");
    replaceAll(s, "\\}", "}");
    replaceAll(s, "\\dfrac", "\\frac");
    replaceAll(s, "\\tfrac", "\\frac");
    replaceAll(s, "\\le ", "\\leq ");
    unwrapText(s);
    // Whitespace carries no meaning in an answer.
    s.erase(std::remove_if(s.begin(), s.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); }), s.end());
    while (!s.empty() && (s.back() == '.' || s.back() == '\\')) s.pop_back();
    while (!s.empty() && s.front() == '.' && s.size() > 1 && !isDigit(s[1])) s.erase(s.begin());
    braceArgs(s);
    // "x\in[1,2]" states the interval.
    if (const size_t in = s.find("\\in"); in != std::string::npos && in <= 3 && in + 3 < s.size() &&
                                          !std::isalpha(static_cast<unsigned char>(s[in + 3])))
        s = s.substr(in + 3);
    if (thousands(s)) s.erase(std::remove(s.begin(), s.end(), ','), s.end());
    // ".5" -> "0.5"
    for (size_t i = 0; i < s.size(); ++i)
        if (s[i] == '.' && i + 1 < s.size() && isDigit(s[i + 1]) && (i == 0 || !isDigit(s[i - 1]))) s.insert(i++, "0");
    // A choice letter: "(C)", "C)", "c".
    {
        std::string t = s;
        if (t.size() >= 2 && t.front() == '(' ) t.erase(t.begin());
        if (!t.empty() && t.back() == ')') t.pop_back();
        if (t.size() == 1 && std::toupper(static_cast<unsigned char>(t[0])) >= 'A' &&
            std::toupper(static_cast<unsigned char>(t[0])) <= 'E' && (s.size() > 1 || std::isupper(static_cast<unsigned char>(t[0]))))
            return std::string(1, static_cast<char>(std::toupper(static_cast<unsigned char>(t[0]))));
    }
    // Words compare without case ("Monday", "monday"); expressions keep it (x and X differ).
    if (s.size() > 1 && std::all_of(s.begin(), s.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); }))
        for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

} // namespace rudder::grading::detail
