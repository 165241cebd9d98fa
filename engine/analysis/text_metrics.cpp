// Text metrics of AISP Appendix C.4 (after ARGS and RE-Control): diversity from repeated token
// n-grams, and the cosine similarity behind coherence (the embeddings come from a model elsewhere).
#include <cmath>
#include <set>

#include "rudder/analysis.h"
#include "rudder/error.h"

namespace rudder::analysis {

double repetitionN(const std::vector<int32_t>& tokens, int n)
{
    if (n < 1) throw Error("repetitionN", "n", "must be at least 1");
    if (tokens.size() < size_t(n)) return 0.0;   // no n-gram, nothing repeated
    const size_t total = tokens.size() - size_t(n) + 1;
    std::set<std::vector<int32_t>> unique;
    for (size_t i = 0; i < total; ++i)
        unique.emplace(tokens.begin() + long(i), tokens.begin() + long(i) + n);
    return 1.0 - double(unique.size()) / double(total);
}

double diversity(const std::vector<int32_t>& tokens)
{
    double d = 1.0;
    for (int n = 2; n <= 4; ++n) d *= 1.0 - repetitionN(tokens, n);
    return d;
}

namespace {

template <typename T>
double cosine(const std::vector<T>& a, const std::vector<T>& b)
{
    if (a.size() != b.size())
        throw Error("cosineSimilarity", "",
                    "vectors differ in size (" + std::to_string(a.size()) + " vs " + std::to_string(b.size()) + ")");
    double ab = 0.0, aa = 0.0, bb = 0.0;   // accumulate in double even for float embeddings
    for (size_t i = 0; i < a.size(); ++i) {
        ab += double(a[i]) * double(b[i]);
        aa += double(a[i]) * double(a[i]);
        bb += double(b[i]) * double(b[i]);
    }
    if (!(aa > 0.0) || !(bb > 0.0)) return 0.0;
    return ab / (std::sqrt(aa) * std::sqrt(bb));
}

} // namespace

double cosineSimilarity(const std::vector<float>& a, const std::vector<float>& b) { return cosine(a, b); }
double cosineSimilarity(const std::vector<double>& a, const std::vector<double>& b) { return cosine(a, b); }

} // namespace rudder::analysis
