#include "methods/aisp_decode.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

namespace rudder::methods {

at::Tensor aispNoise(uint64_t seed, int64_t tau, int64_t d, double sigma, double rho)
{
    at::Generator g = at::make_generator<at::CPUGeneratorImpl>(seed);
    at::Tensor e = at::randn({tau, d}, g, at::TensorOptions().dtype(at::kFloat));
    // ρ > 0 draws the shared component after the per-position one, so ρ = 0 keeps the noise of
    // sessions recorded before ρ existed.
    if (rho > 0) {
        const at::Tensor shared = at::randn({1, d}, g, at::TensorOptions().dtype(at::kFloat));
        e.mul_(std::sqrt(1.0 - rho)).add_(shared, std::sqrt(rho));
    }
    return e.mul_(sigma);
}

at::Tensor aispWhiten(const at::Tensor& V, double rho)
{
    if (rho <= 0) return V;
    // A = (1−ρ)I + ρ11ᵀ (Sherman–Morrison): A⁻¹ = (I − c·11ᵀ)/(1−ρ), c = ρ/(1−ρ+τρ).
    const double tau = static_cast<double>(V.size(0));
    const double c = rho / (1.0 - rho + tau * rho);
    return (V - c * V.sum(0, /*keepdim=*/true)) / (1.0 - rho);
}

// A one-row prefill outside the budget: the run prefills the same tokens anyway, and a resumed
// run must get the same σ before it regenerates its noise.
double prelogitRms(CausalLM& lm, const std::vector<int32_t>& ids)
{
    KVCache c = lm.newCache(1, static_cast<int64_t>(ids.size()));
    const at::Tensor z = prefillShared(lm, c, ids).select(0, 0).to(at::kDouble);
    return std::sqrt(z.pow(2).mean().item<double>());
}

at::Tensor prelogitEditKl(CausalLM& lm, const at::Tensor& edited, const at::Tensor& pre)
{
    const at::Tensor lp1 = at::log_softmax(lm.lmHead(edited).to(at::kDouble), -1);
    const at::Tensor lp0 = at::log_softmax(lm.lmHead(pre).to(at::kDouble), -1);
    return (lp1.exp() * (lp1 - lp0)).sum(-1);
}

GenerateResult perturbedDecode(CausalLM& lm, KVCache& cache, const at::Tensor& last, const at::Tensor& V, int64_t tau,
                               int64_t maxNew, const std::atomic<bool>* cancel, std::vector<double>* klOut)
{
    const at::Tensor Vd = V.to(lm.device());
    at::Tensor kl = at::zeros({V.size(0)}, at::TensorOptions().dtype(at::kDouble));
    GenerateOptions go;
    go.max_new_tokens = maxNew;
    go.sampling.greedy = true;
    go.stop_ids = lm.config().eos_ids;
    go.cancel = cancel;
    go.perturb = [&](int64_t step, at::Tensor& pre, const at::Tensor& rows) {
        if (step >= tau) return;   // no control after the window
        const at::Tensor idx = rows.to(Vd.device(), at::kLong);
        const at::Tensor v = Vd.index_select(0, idx).select(1, step).to(pre.scalar_type());
        at::Tensor perturbed = pre + v;
        if (klOut) kl.index_add_(0, idx.to(at::kCPU), prelogitEditKl(lm, perturbed, pre).to(at::kCPU));
        pre = perturbed;
    };
    std::vector<uint64_t> unusedSeeds(size_t(V.size(0)), 0);   // greedy decoding draws nothing
    auto gens = makeRowGenerators(unusedSeeds);
    GenerateResult g = generate(lm, cache, last, go, gens);
    if (klOut) {
        klOut->resize(V.size(0));
        for (int64_t r = 0; r < V.size(0); ++r) (*klOut)[r] = kl[r].item<double>();
    }
    return g;
}

} // namespace rudder::methods
