// Parity with Hugging Face transformers (rudder/parity.h).  HF's outputs are causal, so the output
// at position t of a row is also the reference for any run that has seen exactly that row's first
// t+1 tokens: every path below (ragged prefill, KV-cache decoding, padded batches) is checked
// against the one fixture computed by transformers.
#include "rudder/parity.h"

#include <algorithm>
#include <filesystem>

#include <ATen/ATen.h>

#include "model/generate.h"
#include "model/loader.h"
#include "model/reward_model.h"
#include "model/safetensors.h"
#include "rudder/error.h"

namespace fs = std::filesystem;

namespace rudder {

double ParityResult::worst() const
{
    double w = 0;
    for (const auto& c : checks) w = std::max(w, c.relError);
    return w;
}

bool ParityResult::pass() const
{
    return !checks.empty() && std::all_of(checks.begin(), checks.end(), [](const ParityCheck& c) { return c.pass(); });
}

double parityTolerance(const std::string& dtype)
{
    if (dtype == "bf16") return 5e-2;
    if (dtype == "fp16") return 1e-2;
    return 1e-4;
}

std::vector<std::string> findHfFixtures(const std::string& root)
{
    std::vector<std::string> dirs;
    if (fs::is_directory(root))
        for (const auto& e : fs::directory_iterator(root))
            if (fs::exists(e.path() / "expected.safetensors")) dirs.push_back(e.path().string());
    std::sort(dirs.begin(), dirs.end());
    return dirs;
}

namespace {

// max |a - b| / max |b|, in fp64 on the CPU (b is the reference).
double rel(const at::Tensor& a, const at::Tensor& b)
{
    const at::Tensor x = a.to(at::kCPU).to(at::kDouble), y = b.to(at::kCPU).to(at::kDouble);
    return (x - y).abs().max().item<double>() / std::max(1e-6, y.abs().max().item<double>());
}

void checkCausalLM(const std::string& dir, const SafetensorsFile& ex, const std::string& device, const std::string& dtype,
                   ParityResult& out, double tol)
{
    auto lm = loadCausalLM(dir, device, dtype);
    out.architecture = lm->config().architecture;
    const at::Device dev = lm->device();
    auto add = [&](const std::string& what, double e) { out.checks.push_back({what, e, tol}); };
    auto onDev = [&](const at::Tensor& t) { return t.to(dev); };
    const at::Tensor ids = ex.tensor("input_ids").to(at::kLong);
    const at::Tensor wantPre = ex.tensor("prelogits"), wantLogits = ex.tensor("logits");
    const int64_t R = ids.size(0), T = ids.size(1);
    if (T < 4) throw Error(dir + "/expected.safetensors", "input_ids", "needs at least 4 positions");

    // 1. Prefill of the whole batch (these rows are unpadded, mask all ones).
    {
        KVCache cache = lm->newCache(R, T);
        at::Tensor pre = lm->forward(cache, onDev(ids));
        add("prefill pre-logits", rel(pre, wantPre));
        at::Tensor logits = lm->lmHead(pre);
        add("prefill logits", rel(logits, wantLogits));
        if (ex.find("bf16_logits")) {
            // The fixture knows how far transformers' own bf16 run is from its fp32 one: a bf16 run of
            // Rudder must stay within twice that (measured on the CPU: 0.4-1.0x), a sharper bound than
            // the blanket tolerance.
            out.referenceBf16Error = rel(ex.tensor("bf16_logits"), wantLogits);
            if (dtype == "bf16")
                out.checks.push_back({"prefill logits, within 2x transformers' own bf16 error", out.checks.back().relError,
                                      std::max(2 * out.referenceBf16Error, 1e-3)});
        }
    }

    // 2. Ragged rows, right-padded in one prefill (prefillRows, as the methods use it), then
    //    decoded one token at a time: row r starts from its first len[r] tokens, so the padded
    //    positions of the shorter rows are overwritten by later steps and must never be attended to.
    {
        std::vector<int64_t> len(static_cast<size_t>(R));
        for (int64_t r = 0; r < R; ++r) len[size_t(r)] = std::max<int64_t>(1, T / 2 - 2 * r);
        std::vector<std::vector<int32_t>> rows(static_cast<size_t>(R));
        for (int64_t r = 0; r < R; ++r)
            for (int64_t t = 0; t < len[size_t(r)]; ++t) rows[size_t(r)].push_back(int32_t(ids[r][t].item<int64_t>()));
        KVCache rc = lm->newCache(R, T);
        at::Tensor last = prefillRows(*lm, rc, rows);
        double e = 0;
        for (int64_t r = 0; r < R; ++r) e = std::max(e, rel(last[r], wantPre[r][len[size_t(r)] - 1]));
        for (int64_t s = 0; s < T - *std::max_element(len.begin(), len.end()); ++s) {
            at::Tensor tok = at::empty({R, 1}, at::kLong);
            for (int64_t r = 0; r < R; ++r) tok[r][0] = ids[r][len[size_t(r)] + s];
            at::Tensor step = lm->forward(rc, onDev(tok)).select(1, 0);
            for (int64_t r = 0; r < R; ++r) e = std::max(e, rel(lm->lmHead(step[r]), wantLogits[r][len[size_t(r)] + s]));
        }
        add(R > 1 ? "ragged right-padded prefill + decode" : "prefill + decode", e);
    }

    // 3. Incremental decoding of the whole batch: the first half prefilled, then one token at a
    //    time through the KV cache.
    {
        KVCache ic = lm->newCache(R, T);
        lm->forward(ic, onDev(ids.narrow(1, 0, T / 2)));
        double e = 0;
        for (int64_t t = T / 2; t < T; ++t) {
            at::Tensor step = lm->forward(ic, onDev(ids.narrow(1, t, 1)));
            e = std::max(e, rel(lm->lmHead(step.select(1, 0)), wantLogits.select(1, t)));
        }
        add("half prefill + KV-cache decode", e);
    }

    // 4. Ragged rows that transformers computed padded (right, and left with positions from the
    //    mask): each row alone at every position, then Rudder's own ragged path — the first half of
    //    every row in one padded prefill, the rest one token at a time for the rows still running
    //    (forwardRows on a subset).
    for (const std::string side : {"right", "left"}) {
        if (!ex.find(side + "_logits"))
            throw Error(dir + "/expected.safetensors", side + "_logits",
                        "missing: the fixture predates the padded batches (regenerate it with make_hf_fixtures.py)");
        at::Tensor pid = ex.tensor(side + "_input_ids").to(at::kLong), pm = ex.tensor(side + "_attention_mask").to(at::kLong);
        at::Tensor pl = ex.tensor(side + "_logits");
        const int64_t PR = pid.size(0), PT = pid.size(1);
        std::vector<std::vector<int32_t>> seqs(static_cast<size_t>(PR)), halves(static_cast<size_t>(PR));
        std::vector<int64_t> off(static_cast<size_t>(PR), -1);
        for (int64_t r = 0; r < PR; ++r)
            for (int64_t t = 0; t < PT; ++t)
                if (pm[r][t].item<int64_t>() == 1) {
                    if (off[size_t(r)] < 0) off[size_t(r)] = t;
                    seqs[size_t(r)].push_back(int32_t(pid[r][t].item<int64_t>()));
                }
        double eAlone = 0, eRagged = 0;
        for (int64_t r = 0; r < PR; ++r) {
            const auto& sq = seqs[size_t(r)];
            const int64_t n = int64_t(sq.size());
            if (n == 0) throw Error(dir + "/expected.safetensors", side + "_attention_mask", "has an empty row");
            KVCache c = lm->newCache(1, n);
            at::Tensor row = at::tensor(std::vector<int64_t>(sq.begin(), sq.end()), at::kLong).view({1, n});
            eAlone = std::max(eAlone, rel(lm->lmHead(lm->forward(c, onDev(row)))[0], pl[r].narrow(0, off[size_t(r)], n)));
            halves[size_t(r)].assign(sq.begin(), sq.begin() + std::max<int64_t>(1, n / 2));
        }
        KVCache rc2 = lm->newCache(PR, PT);
        at::Tensor lastH = prefillRows(*lm, rc2, halves);
        for (int64_t r = 0; r < PR; ++r) {
            const int64_t h = int64_t(halves[size_t(r)].size());
            eRagged = std::max(eRagged, rel(lm->lmHead(lastH[r]), pl[r][off[size_t(r)] + h - 1]));
        }
        for (int64_t s = 0;; ++s) {
            std::vector<int64_t> active, toks;
            for (int64_t r = 0; r < PR; ++r) {
                const int64_t t = int64_t(halves[size_t(r)].size()) + s;
                if (t < int64_t(seqs[size_t(r)].size())) {
                    active.push_back(r);
                    toks.push_back(seqs[size_t(r)][size_t(t)]);
                }
            }
            if (active.empty()) break;
            const int64_t m = int64_t(active.size());
            at::Tensor o = lm->forwardRows(rc2, onDev(at::tensor(toks, at::kLong).view({m, 1})), at::tensor(active, at::kLong));
            for (int64_t i = 0; i < m; ++i) {
                const int64_t r = active[size_t(i)], t = int64_t(halves[size_t(r)].size()) + s;
                eRagged = std::max(eRagged, rel(lm->lmHead(o[i][0]), pl[r][off[size_t(r)] + t]));
            }
        }
        add(side + "-padded batch, each row alone", eAlone);
        add(side + "-padded batch, ragged prefill + decode", eRagged);
    }
}

} // namespace

ParityResult checkHfFixture(const std::string& dir, const std::string& device, const std::string& dtype, double tolerance)
{
    ParityResult out;
    out.fixture = fs::path(dir).filename().string();
    const double tol = tolerance > 0 ? tolerance : parityTolerance(dtype);
    const fs::path expected = fs::path(dir) / "expected.safetensors";
    if (!fs::exists(expected)) throw Error(expected.string(), "", "missing (not a parity fixture: see tests/reference/make_hf_fixtures.py)");
    SafetensorsFile ex(expected.string());
    for (const char* k : {"input_ids", "attention_mask"})
        if (!ex.find(k)) throw Error(expected.string(), k, "missing");
    if (ex.find("scores")) {
        out.kind = "reward";
        auto rm = loadRewardModel(dir, device, dtype);
        out.architecture = rm->config().architecture + " (" + rm->headKind() + ")";
        std::vector<double> s = rm->scorePadded(ex.tensor("input_ids").to(at::kLong), ex.tensor("attention_mask").to(at::kLong));
        out.checks.push_back({"reward scores, padded batch", rel(at::tensor(s, at::kDouble), ex.tensor("scores")), tol});
        return out;
    }
    for (const char* k : {"prelogits", "logits"})
        if (!ex.find(k)) throw Error(expected.string(), k, "missing (neither a causal-LM nor a reward fixture)");
    out.kind = "causal-lm";
    checkCausalLM(dir, ex, device, dtype, out, tol);
    return out;
}

} // namespace rudder
