// The torch side of rudder/runtime_probe.h: the runtime driven directly, for benchmarks and for
// reference comparisons (llama.cpp, transformers) of its logits.
#include "rudder/runtime_probe.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <chrono>

#include "model/loader.h"
#include "model/transformer.h"
#include "rudder/error.h"

namespace rudder {

namespace {

double now()
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void sync(const at::Device& d)
{
    // A host read waits for queued device work (CUDA); free on CPU.
    if (d.is_cuda()) at::zeros({1}, at::TensorOptions().device(d)).cpu();
}

} // namespace

struct RuntimeProbe::Impl {
    std::unique_ptr<CausalLM> lm;
    TransformerLM* tlm = nullptr;   // the runtime's own model (linear weights for the bound)
};

RuntimeProbe::RuntimeProbe(const std::string& dir, const std::string& device, const std::string& dtype)
    : d(std::make_unique<Impl>())
{
    d->lm = loadCausalLM(dir, device, dtype);
    d->tlm = dynamic_cast<TransformerLM*>(d->lm.get());
}

RuntimeProbe::~RuntimeProbe() = default;

std::string RuntimeProbe::architecture() const { return d->lm->config().architecture; }
std::string RuntimeProbe::device() const { return d->lm->device().str(); }
std::string RuntimeProbe::dtype() const { return c10::toString(d->lm->dtype()); }
int64_t RuntimeProbe::parameters() const { return d->lm->config().num_parameters; }
int64_t RuntimeProbe::vocabSize() const { return d->lm->config().vocab_size; }

RuntimeProbe::Throughput RuntimeProbe::prefillAndDecode(int64_t B, int64_t P, int64_t steps)
{
    CausalLM& lm = *d->lm;
    at::NoGradGuard ng;
    Throughput r;
    KVCache cache = lm.newCache(B, P + steps + 1);
    auto gen = at::make_generator<at::CPUGeneratorImpl>(B);
    at::Tensor prompt = at::randint(3, lm.config().vocab_size, {B, P}, gen, at::kLong).to(lm.device());
    lm.forward(cache, prompt.narrow(1, 0, 1));   // warm-up
    for (int64_t b = 0; b < B; ++b) cache.setLength(b, 0);
    sync(lm.device());
    double t0 = now();
    at::Tensor pre = lm.forward(cache, prompt).select(1, P - 1);
    sync(lm.device());
    r.prefill_tok_s = double(B * P) / (now() - t0);
    t0 = now();
    for (int64_t s = 0; s < steps; ++s) {
        at::Tensor tok = lm.lmHead(pre).argmax(-1).view({B, 1});
        pre = lm.forward(cache, tok).select(1, 0);
    }
    sync(lm.device());
    r.decode_tok_s = double(B * steps) / (now() - t0);
    return r;
}

double RuntimeProbe::matmulSeconds(int64_t tokens, int reps)
{
    if (!d->tlm) throw Error("bench", "model", "the linear-layer bound needs the runtime's own model");
    const TransformerLM& lm = *d->tlm;
    std::vector<at::Tensor> ws = lm.linearWeights();
    at::Tensor x = at::randn({tokens, lm.config().hidden_size}, at::TensorOptions().device(lm.device()).dtype(lm.dtype()));
    std::vector<at::Tensor> inputs;
    for (const auto& w : ws) inputs.push_back(at::randn({tokens, w.size(1)}, x.options()));
    at::NoGradGuard ng;
    // With the forward's own thread rule (SerialScope): the decoder's layers, then lm_head (last).
    const at::Tensor& head = lm.lmHeadWeight();
    const size_t layerWeights = ws.size() - (head.defined() ? 1 : 0);
    auto all = [&] {
        {
            const SerialScope threads(tokens * lm.macsPerToken());
            for (size_t i = 0; i < layerWeights; ++i) linearRows(inputs[i], ws[i]);
        }
        const SerialScope threads(tokens * (head.defined() ? head.numel() : 0));
        for (size_t i = layerWeights; i < ws.size(); ++i) linearRows(inputs[i], ws[i]);
    };
    all();   // warm-up
    sync(lm.device());
    const double t0 = now();
    for (int r = 0; r < reps; ++r) all();
    sync(lm.device());
    return (now() - t0) / reps;
}

RuntimeProbe::Logprobs RuntimeProbe::logprobs(const std::vector<int64_t>& ids, int64_t greedy)
{
    CausalLM& lm = *d->lm;
    const int64_t V = lm.config().vocab_size;
    for (int64_t id : ids)
        if (id < 0 || id >= V) throw UsageError("token ids", std::to_string(id), "outside [0, " + std::to_string(V) + ")");
    at::NoGradGuard ng;
    const int64_t T = static_cast<int64_t>(ids.size());
    KVCache cache = lm.newCache(1, T + greedy + 1);
    at::Tensor tokens = at::tensor(ids, at::kLong).view({1, T}).to(lm.device());
    // One prefill over the whole sequence: every position's distribution.
    at::Tensor pre = lm.forward(cache, tokens);
    at::Tensor lp = at::log_softmax(lm.lmHead(pre)[0].to(at::kDouble), -1).cpu().contiguous();
    Logprobs out;
    const double* p = lp.data_ptr<double>();
    for (int64_t t = 0; t < T; ++t) out.rows.emplace_back(p + t * V, p + (t + 1) * V);
    // Greedy continuation one token at a time through the cache (the decode path).
    at::Tensor last = pre.select(1, T - 1);
    for (int64_t s = 0; s < greedy; ++s) {
        const int64_t next = lm.lmHead(last).argmax(-1).item<int64_t>();
        out.greedy.push_back(next);
        last = lm.forward(cache, at::full({1, 1}, next, at::TensorOptions().dtype(at::kLong).device(lm.device())))
                   .select(1, 0);
    }
    return out;
}

} // namespace rudder
