// Grading answers to questions with a checkable answer (GSM8K, MATH): extract the final answer of
// a response and decide whether it is equivalent to a reference.  Torch-free and Qt-free (in
// rudder_core); engine/grading/GRADING.md says what is normalised, why, and how well it agrees
// with real graders' labels.
#pragma once
#include <optional>
#include <string>

namespace rudder::grading {

// gsm8k: the answer is a number (references end in "#### N"); math: a LaTeX expression
// (MATH / PRM800K conventions); auto: gsm8k when the reference has "####", else math.
enum class Format { Auto, Gsm8k, Math };
Format parseFormat(const std::string& name);   // throws UsageError for another name
const char* toString(Format f);

// The answer a reference states: the text after its last "####" (a GSM8K answer field with its
// worked solution), the last \boxed{} / \fbox{} of a full solution, else the whole string trimmed.
std::string referenceAnswer(const std::string& reference);
Format resolveFormat(Format f, const std::string& reference);

// The final answer of a response as written (not normalised); nullopt when it states none.
// Order: the last \boxed{...} / \fbox{...} (nested braces), the last "#### X", the last
// "the (final) answer is X" / "Answer: X" / "A: X", else the last number.  For gsm8k the result
// is reduced to its number ("$1,200.00 per week" -> "1200").
std::optional<std::string> extractAnswer(const std::string& response, Format f);
// Only what the response states as its answer (\boxed{}, "####", an answer phrase), no fallback.
std::optional<std::string> statedAnswer(const std::string& response);

// The canonical form two answers share when they are written alike: spacing, $, \left/\right,
// \dfrac, \text{} units, degrees, percent, "x =", thousands separators, trailing period, case,
// choice letters "(B)".  Used for votes, so that "\dfrac{1}{2}" and "\frac12" count together.
std::string normalize(const std::string& answer, Format f);

// Whether `answer` equals `reference` (both answers, not responses): equal after normalize(),
// numerically equal (relative 1e-6), tuples and intervals element by element, unordered lists of
// solutions, or symbolically equal (GiNaC: a - b simplifies to 0, or agrees at random points).
bool equivalent(const std::string& answer, const std::string& reference, Format f);

// The key a vote groups answers by: numbers by value (0.5 = 1/2 = \frac{1}{2}), anything else by
// normalize().
std::string voteKey(const std::string& answer, Format f = Format::Math);

struct Grade {
    std::optional<std::string> extracted;   // nullopt: the response states no answer (counted wrong)
    std::string reference;                  // the reference's answer (referenceAnswer)
    bool correct = false;
    Format format = Format::Math;           // as resolved
};
Grade grade(const std::string& response, const std::string& reference, Format f = Format::Auto);

// Whether symbolic equivalence is available (built with GiNaC).
bool haveSymbolic();

} // namespace rudder::grading
