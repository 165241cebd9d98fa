// Shared by the grader's files (not installed).
#pragma once
#include <algorithm>
#include <optional>
#include <string>

namespace rudder::grading::detail {

std::string trim(const std::string& s);
bool startsWith(const std::string& s, size_t at, const char* lit);
void replaceAll(std::string& s, const std::string& from, const std::string& to);
size_t matchBrace(const std::string& s, size_t open);
std::optional<double> parseNumber(const std::string& t);
// Two values are the same answer: equal to a relative 1e-6 of the reference (at least 1e-6).
inline bool numbersClose(double diff, double reference) { return diff <= 1e-6 * std::max(1.0, reference < 0 ? -reference : reference); }

// normalize.cpp: the MATH / PRM800K normalisation of a LaTeX answer.
std::string normalizeLatex(const std::string& answer);

// symbolic.cpp: a normalised LaTeX answer as GiNaC infix ("\frac{1}{2}\sqrt{3}" -> "((1)/(2))*sqrt(3)");
// nullopt for what it does not cover (relations, sets, \infty, subscripts, large exponents).
std::optional<std::string> toInfix(const std::string& latex);
bool symbolicEqual(const std::string& a, const std::string& b);     // both normalised
std::optional<double> numericValue(const std::string& a);          // a constant expression's value

} // namespace rudder::grading::detail
