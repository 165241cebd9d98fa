// Samplers: greedy, temperature, top-k, top-p by inverse-CDF with one uniform per row drawn
// from that row's own generator, so a row's tokens do not depend on the batch it is in.
#include <ATen/CPUGeneratorImpl.h>

#include <mutex>

#include "model/generate.h"
#include "rudder/error.h"

namespace rudder {

std::vector<at::Generator> makeRowGenerators(const std::vector<uint64_t>& seeds)
{
    std::vector<at::Generator> g;
    g.reserve(seeds.size());
    for (uint64_t s : seeds) g.push_back(at::make_generator<at::CPUGeneratorImpl>(s));
    return g;
}

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

uint64_t rowSeed(uint64_t runSeed, int64_t promptIndex, int64_t iteration, int64_t row)
{
    uint64_t h = splitmix64(runSeed);
    h = splitmix64(h ^ static_cast<uint64_t>(promptIndex));
    h = splitmix64(h ^ static_cast<uint64_t>(iteration));
    return splitmix64(h ^ static_cast<uint64_t>(row));
}

static double uniform(at::Generator& gen)
{
    if (gen.device().is_cpu()) {
        std::lock_guard<std::mutex> lock(gen.mutex());
        auto* g = gen.get<at::CPUGeneratorImpl>();
        return static_cast<double>(g->random64() >> 11) * (1.0 / 9007199254740992.0);   // 53 bits in [0,1)
    }
    return at::rand({1}, gen, at::TensorOptions().device(gen.device())).item<double>();
}

at::Tensor sampleNext(const at::Tensor& logitsIn, const SamplingParams& params, std::vector<at::Generator>& gens,
                      at::Tensor* logprobs)
{
    at::NoGradGuard noGrad;
    if (logitsIn.dim() != 2) throw Error("", "logits", "sampleNext expects [rows, vocab]");
    const int64_t rows = logitsIn.size(0), V = logitsIn.size(1);
    at::Tensor logits = logitsIn.to(at::kFloat);
    at::Tensor next;
    if (params.greedy || params.temperature <= 0) {
        next = logits.argmax(-1);
    } else {
        if (static_cast<int64_t>(gens.size()) < rows)
            throw Error("", "generators", "one generator per row needed (" + std::to_string(gens.size()) + " for "
                                              + std::to_string(rows) + " rows)");
        at::Tensor probs = at::softmax(logits / params.temperature, -1);
        const bool topK = params.top_k > 0 && params.top_k < V;
        const bool topP = params.top_p < 1.0;
        at::Tensor order;   // [rows, K] candidate ids, most probable first; undefined = all, unsorted
        if (topK) {
            auto tk = probs.topk(params.top_k, -1, true, true);
            probs = std::get<0>(tk);
            order = std::get<1>(tk);
        } else if (topP) {
            auto s = probs.sort(-1, true);
            probs = std::get<0>(s);
            order = std::get<1>(s);
        }
        if (topP) {
            // Nucleus: keep the most probable tokens until their mass reaches top_p (the one that
            // crosses it included).
            at::Tensor before = probs.cumsum(-1) - probs;
            probs = probs.masked_fill(before >= params.top_p, 0.0);
        }
        // Inverse CDF on the device (no [rows, vocab] copy to the host): the first index whose
        // cumulative mass exceeds u * total.
        at::Tensor cdf = probs.to(at::kDouble).cumsum(-1);
        std::vector<double> u(static_cast<size_t>(rows));
        for (int64_t r = 0; r < rows; ++r) u[r] = uniform(gens[r]);
        at::Tensor target = at::tensor(u, at::kDouble).to(cdf.device()).unsqueeze(1) * cdf.narrow(1, cdf.size(1) - 1, 1);
        next = at::searchsorted(cdf, target, /*out_int32=*/false, /*right=*/true).squeeze(1).clamp_max(cdf.size(1) - 1);
        if (order.defined()) next = order.gather(1, next.unsqueeze(1)).squeeze(1);
    }
    if (logprobs) *logprobs = at::log_softmax(logits, -1).gather(1, next.unsqueeze(1)).squeeze(1);
    return next;
}

} // namespace rudder
