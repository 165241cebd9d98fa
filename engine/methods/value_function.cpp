// RE-Control's value function (Kong et al. 2024, "Aligning Large Language Models with Representation
// Editing: A Control Perspective"; code Lingkai-Kong/RE-Control).
//
// What we follow from their code, and where we depart:
// - get_activations_only.py / reward_label.py: the state is the final-norm output z_t (the
//   pre-logit) at every response position; the label is the reward model's score of the whole
//   response.  We sample the responses from the base model itself (their datasets' responses are
//   the base model's generations too).
// - train_value_model.py: an MLP on z (Linear, ReLU, Linear, ReLU, Linear: two hidden layers of the
//   model's width), Adam at lr 1e-4, and the objective
//       L = ( Σ_{t<T} (V(z_t) − V(z_{t+1}))²  +  (V(z_T) − r)² ) / B          (per batch of B responses)
//   — consecutive values tied (a TD term with no discount and no intermediate reward), the last
//   one regressed on the reward.  As they do, both sides of the tie carry gradient.  Their code
//   finds "the last position" with mask.argmax(), which is the first valid position of a
//   right-padded mask; we take the true last position, as the paper and their comment say.
// - intervented_model/llama.py: at test time z_t is replaced by the result of `epochs` SGD steps
//   of size lr on −V(z) (README: lr 1.0, 30 steps), after the last layer, so the KV cache never
//   sees the edit; decoding is greedy.
// Adam is written out here (6 lines) rather than taken from torch::optim because its moments are
// checkpointed with the weights: a cancelled training resumes and ends bit for bit where an
// uninterrupted one would.
#include "methods/value_function.h"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/GradMode.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <numeric>

#include "methods/common.h"
#include "model/generate.h"
#include "model/safetensors.h"
#include "rudder/error.h"

namespace fs = std::filesystem;

namespace rudder::methods {

namespace {

const char* kMetaKey = "rudder.value_model";

std::string nowIso()
{
    std::time_t t = std::time(nullptr);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    return buf;
}

at::Tensor f64(const std::vector<double>& v) { return at::tensor(v, at::kDouble); }

std::vector<double> toVec(const at::Tensor& t)
{
    const at::Tensor c = t.to(at::kCPU, at::kDouble).contiguous();
    return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

} // namespace

// ---------------------------------------------------------------------------------------------
// The network
// ---------------------------------------------------------------------------------------------

ValueNet ValueNet::init(int64_t d, int64_t hidden, int64_t layers, uint64_t seed)
{
    if (d <= 0 || hidden <= 0 || layers < 0) throw UsageError("value model", "shape", "needs a positive width and depth ≥ 0");
    at::Generator g = at::make_generator<at::CPUGeneratorImpl>(seed);
    ValueNet n;
    int64_t in = d;
    for (int64_t l = 0; l <= layers; ++l) {
        const int64_t out = l == layers ? 1 : hidden;
        const double bound = 1.0 / std::sqrt(double(in));
        n.w_.push_back(at::empty({out, in}, at::kFloat).uniform_(-bound, bound, g));
        n.b_.push_back(at::empty({out}, at::kFloat).uniform_(-bound, bound, g));
        in = out;
    }
    return n;
}

void ValueNet::setScales(double inputRms, double rewardMean, double rewardStd)
{
    inScale_ = inputRms > 0 ? inputRms : 1.0;
    outMean_ = rewardMean;
    outStd_ = rewardStd > 0 ? rewardStd : 1.0;
}

at::Tensor ValueNet::forward(const at::Tensor& z) const { return mlp(z / inScale_) * outStd_ + outMean_; }

at::Tensor ValueNet::mlp(const at::Tensor& u) const
{
    at::Tensor x = u;
    for (size_t l = 0; l < w_.size(); ++l) {
        x = at::linear(x, w_[l], b_[l]);
        if (l + 1 < w_.size()) x = at::relu(x);
    }
    return x.squeeze(-1);
}

std::vector<at::Tensor> ValueNet::params() const
{
    std::vector<at::Tensor> p;
    for (size_t l = 0; l < w_.size(); ++l) {
        p.push_back(w_[l]);
        p.push_back(b_[l]);
    }
    return p;
}

std::vector<std::pair<std::string, at::Tensor>> ValueNet::named() const
{
    std::vector<std::pair<std::string, at::Tensor>> out;
    for (size_t l = 0; l < w_.size(); ++l) {
        out.emplace_back("fc" + std::to_string(l) + ".weight", w_[l]);
        out.emplace_back("fc" + std::to_string(l) + ".bias", b_[l]);
    }
    out.emplace_back("scale.input_rms", at::full({1}, inScale_, at::kDouble));
    out.emplace_back("scale.reward_mean", at::full({1}, outMean_, at::kDouble));
    out.emplace_back("scale.reward_std", at::full({1}, outStd_, at::kDouble));
    return out;
}

ValueNet ValueNet::fromNamed(const std::vector<std::pair<std::string, at::Tensor>>& tensors, const std::string& file)
{
    std::map<std::string, at::Tensor> byName(tensors.begin(), tensors.end());
    ValueNet n;
    for (int l = 0;; ++l) {
        auto w = byName.find("fc" + std::to_string(l) + ".weight");
        auto b = byName.find("fc" + std::to_string(l) + ".bias");
        if (w == byName.end()) break;
        if (b == byName.end()) throw Error(file, "fc" + std::to_string(l) + ".bias", "missing");
        if (w->second.dim() != 2 || b->second.dim() != 1 || b->second.size(0) != w->second.size(0))
            throw Error(file, w->first, "is not a [out, in] weight with an [out] bias");
        if (!n.w_.empty() && w->second.size(1) != n.w_.back().size(0))
            throw Error(file, w->first, "takes " + std::to_string(w->second.size(1)) + " inputs but the layer before gives " +
                                            std::to_string(n.w_.back().size(0)));
        n.w_.push_back(w->second.to(at::kFloat).clone());
        n.b_.push_back(b->second.to(at::kFloat).clone());
    }
    if (n.w_.empty()) throw Error(file, "fc0.weight", "missing: not a Rudder value model");
    if (n.w_.back().size(0) != 1) throw Error(file, "fc" + std::to_string(n.w_.size() - 1) + ".weight", "must have one output");
    auto scalar = [&](const char* k, double def) {
        auto it = byName.find(k);
        if (it == byName.end()) return def;
        if (it->second.numel() != 1) throw Error(file, k, "must hold one number");
        const double v = it->second.to(at::kDouble).item<double>();
        if (!std::isfinite(v)) throw Error(file, k, "is not finite");
        return v;
    };
    n.setScales(scalar("scale.input_rms", 1.0), scalar("scale.reward_mean", 0.0), scalar("scale.reward_std", 1.0));
    return n;
}

ValueNet ValueNet::to(at::Device device) const
{
    ValueNet n;
    for (size_t l = 0; l < w_.size(); ++l) {
        n.w_.push_back(w_[l].detach().to(device).clone());
        n.b_.push_back(b_[l].detach().to(device).clone());
    }
    n.inScale_ = inScale_;
    n.outMean_ = outMean_;
    n.outStd_ = outStd_;
    return n;
}

int64_t ValueNet::parameters() const
{
    int64_t s = 0;
    for (const auto& t : params()) s += t.numel();
    return s;
}

at::Tensor ascendValue(const ValueNet& v, const at::Tensor& z, double lr, int64_t steps, at::Tensor* before,
                       at::Tensor* after)
{
    at::AutoGradMode grad(true);
    at::Tensor u = z.detach().to(at::kFloat) / v.inputScale();
    if (before) {
        at::NoGradGuard ng;
        *before = v.mlp(u) * v.rewardStd() + v.rewardMean();
    }
    if (lr != 0)
        for (int64_t s = 0; s < steps; ++s) {
            u.requires_grad_(true);
            v.mlp(u).sum().backward();
            const at::Tensor g = u.grad();
            u = u.detach().add(g, lr);   // SGD on −f: u ← u + lr·∇f(u)
        }
    if (after) {
        at::NoGradGuard ng;
        *after = v.mlp(u.detach()) * v.rewardStd() + v.rewardMean();
    }
    return (u.detach() * v.inputScale()).to(z.scalar_type());
}

// ---------------------------------------------------------------------------------------------
// The file
// ---------------------------------------------------------------------------------------------

void saveValueModel(const std::string& path, const ValueNet& net, const ValueModelInfo& info)
{
    fs::create_directories(fs::path(path).parent_path().empty() ? fs::path(".") : fs::path(path).parent_path());
    std::vector<std::pair<std::string, at::Tensor>> t;
    for (auto& [n, x] : net.named()) t.emplace_back(n, x.detach().to(at::kCPU).contiguous());
    // Written beside, then renamed: a killed process never leaves a half-written model behind.
    const std::string tmp = path + ".tmp";
    writeSafetensors(tmp, t, {{kMetaKey, info.toJson().dump()}});
    fs::rename(tmp, path);
}

namespace {

// The file, mapped (header validated), and its record.
std::unique_ptr<SafetensorsFile> openValueModel(const std::string& path, ValueModelInfo& info)
{
    if (!fs::exists(path)) throw UsageError(path, "value model", "no such file");
    std::unique_ptr<SafetensorsFile> file;
    try {
        file = std::make_unique<SafetensorsFile>(path);
    } catch (const UsageError&) {
        throw;
    } catch (const Error& e) {   // bad input, not a failure of Rudder's: exit code 2 in the CLI
        throw UsageError(std::string(e.what()) + " (not a value model file)");
    }
    auto it = file->metadata().find(kMetaKey);
    if (it == file->metadata().end())
        throw UsageError(path, "__metadata__." + std::string(kMetaKey),
                         "missing: not a value model written by Rudder (train one with rudder-cli train-value)");
    try {
        info = ValueModelInfo::fromJson(nlohmann::json::parse(it->second));
    } catch (const std::exception& e) {
        throw UsageError(path, "__metadata__." + std::string(kMetaKey), std::string("unreadable: ") + e.what());
    }
    info.path = path;
    return file;
}

} // namespace

ValueModelInfo readValueModelInfo(const std::string& path)
{
    ValueModelInfo info;
    openValueModel(path, info);
    return info;
}

LoadedValueModel loadValueModel(const std::string& path)
{
    LoadedValueModel out;
    const auto f = openValueModel(path, out.info);
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    for (const auto& e : f->entries()) tensors.emplace_back(e.name, f->tensor(e.name));
    out.net = ValueNet::fromNamed(tensors, path);
    return out;
}

// ---------------------------------------------------------------------------------------------
// Collection and training
// ---------------------------------------------------------------------------------------------

namespace {

// One prompt's rollouts: the pre-logits of every response position, stacked, with each
// response's length and reward.
struct Rollouts {
    at::Tensor z;                    // [Σ lengths, d] fp32 CPU
    std::vector<int64_t> lengths;
    std::vector<double> rewards;
    Budget cost;
};

Rollouts collectPrompt(const MethodContext& ctx, const ValueTrainOptions& opt, const std::string& prompt, int p)
{
    CausalLM& lm = localModel(ctx, "recontrol");
    BudgetMeter meter(ctx);
    const std::vector<int32_t> ids = ctx.encode(prompt);
    const int64_t M = opt.samples_per_prompt, L = static_cast<int64_t>(ids.size());
    KVCache cache = lm.newCache(M, L + opt.max_new_tokens + 1);
    const at::Tensor last = prefillShared(lm, cache, ids);
    meter.lmTokens(L);
    std::vector<std::vector<at::Tensor>> zs(static_cast<size_t>(M));
    GenerateOptions go;
    go.max_new_tokens = opt.max_new_tokens;
    go.sampling.temperature = opt.temperature;
    go.stop_ids = stopIds(lm);
    go.cancel = ctx.cancel;
    go.perturb = [&](int64_t, at::Tensor& pre, const at::Tensor& rows) {   // read, never modified
        const at::Tensor z = pre.to(at::kCPU, at::kFloat);
        const at::Tensor r = rows.to(at::kCPU);
        for (int64_t j = 0; j < r.size(0); ++j) zs[size_t(r[j].item<int64_t>())].push_back(z[j].clone());
    };
    auto gens = rowGenerators(opt.seed, p, 0, M);
    const GenerateResult g = generate(lm, cache, last, go, gens);
    if (g.cancelled) throw Cancelled("value model training cancelled while collecting; the same command continues from its checkpoints");
    meter.generated(g.generated_tokens);
    const Scored sc = scoreResponses(ctx, meter, prompt, L, g.tokens);
    Rollouts out;
    std::vector<at::Tensor> all;
    for (int64_t i = 0; i < M; ++i) {
        out.lengths.push_back(static_cast<int64_t>(zs[size_t(i)].size()));
        for (auto& t : zs[size_t(i)]) all.push_back(t);
    }
    out.z = at::stack(all);
    out.rewards = sc.rewards;
    out.cost = meter.now();
    return out;
}

void saveRollouts(const std::string& path, const Rollouts& r)
{
    std::vector<double> len(r.lengths.begin(), r.lengths.end());
    nlohmann::json cost = r.cost;
    writeSafetensors(path + ".tmp", {{"z", r.z}, {"lengths", f64(len)}, {"rewards", f64(r.rewards)}},
                     {{"cost", cost.dump()}});
    fs::rename(path + ".tmp", path);
}

Rollouts loadRollouts(const std::string& path)
{
    SafetensorsFile f(path);
    Rollouts r;
    r.z = f.tensor("z").clone();
    for (double x : toVec(f.tensor("lengths"))) r.lengths.push_back(static_cast<int64_t>(x));
    r.rewards = toVec(f.tensor("rewards"));
    r.cost = nlohmann::json::parse(f.metadata().at("cost")).get<Budget>();
    return r;
}

// RE-Control's objective over a set of responses (their positions gathered from Z).
struct Batch {
    at::Tensor z;          // [positions, d]
    at::Tensor a, b;       // index pairs (t, t+1) inside one response
    at::Tensor last;       // each response's last position
    at::Tensor r;          // rewards [B]
};

Batch makeBatch(const at::Tensor& Z, const std::vector<int64_t>& start, const std::vector<int64_t>& len,
                const std::vector<double>& rewards, const std::vector<int64_t>& which)
{
    std::vector<int64_t> rows, a, b, last;
    std::vector<double> r;
    for (int64_t s : which) {
        const int64_t base = static_cast<int64_t>(rows.size());
        for (int64_t t = 0; t < len[size_t(s)]; ++t) rows.push_back(start[size_t(s)] + t);
        for (int64_t t = 0; t + 1 < len[size_t(s)]; ++t) {
            a.push_back(base + t);
            b.push_back(base + t + 1);
        }
        last.push_back(base + len[size_t(s)] - 1);
        r.push_back(rewards[size_t(s)]);
    }
    const at::Device dev = Z.device();
    Batch out;
    out.z = Z.index_select(0, at::tensor(rows, at::kLong).to(dev));
    out.a = at::tensor(a, at::kLong).to(dev);
    out.b = at::tensor(b, at::kLong).to(dev);
    out.last = at::tensor(last, at::kLong).to(dev);
    out.r = at::tensor(r, at::kFloat).to(dev);
    return out;
}

// In f's standardised units (ValueNet): the loss is then comparable across models and reward
// models (1 ≈ predicting the mean reward); `lastValues` receives V(z_T) in reward units.
at::Tensor objective(const ValueNet& net, const Batch& bt, at::Tensor* lastValues = nullptr)
{
    const at::Tensor v = net.mlp(bt.z / net.inputScale());
    const at::Tensor tie = (v.index_select(0, bt.a) - v.index_select(0, bt.b)).pow(2).sum();
    const at::Tensor vl = v.index_select(0, bt.last);
    if (lastValues) *lastValues = vl.detach() * net.rewardStd() + net.rewardMean();
    const at::Tensor fit = (vl - (bt.r - net.rewardMean()) / net.rewardStd()).pow(2).sum();
    return (tie + fit) / double(bt.r.size(0));
}

} // namespace

ValueModelInfo trainValueModel(const MethodContext& ctx, const ValueTrainOptions& opt, const std::vector<std::string>& prompts,
                               ValueModelInfo info, const std::string& outPath,
                               const std::function<void(const ValueTrainProgress&)>& progress)
{
    CausalLM& lm = localModel(ctx, "recontrol");
    if (opt.samples_per_prompt < 2) throw UsageError("train_samples", std::to_string(opt.samples_per_prompt), "must be at least 2");
    if (opt.epochs < 1 || opt.batch < 1 || opt.max_new_tokens < 1)
        throw UsageError("value training", "epochs/batch/max_new_tokens", "must be positive");
    if (!(opt.holdout >= 0 && opt.holdout < 1)) throw UsageError("value training", "holdout", "must be in [0, 1)");
    const std::string partial = outPath + ".partial";
    {   // Checkpoints of another training to the same file (other options or prompts) are not ours.
        const std::string keyFile = partial + "/key";
        std::string have;
        if (std::ifstream in(keyFile); in) std::getline(in, have);
        if (have != info.key) fs::remove_all(partial);
        fs::create_directories(partial);
        std::ofstream(keyFile) << info.key << "\n";
    }
    auto report = [&](const ValueTrainProgress& p) {
        if (progress) progress(p);
    };

    // 1. Collection, one checkpoint per prompt.
    std::vector<Rollouts> data;
    Budget collection;
    for (size_t p = 0; p < prompts.size(); ++p) {
        const std::string f = partial + "/collect-" + std::to_string(p) + ".safetensors";
        if (fs::exists(f)) {
            data.push_back(loadRollouts(f));
        } else {
            if (ctx.cancel && ctx.cancel->load()) throw Cancelled("value model training cancelled while collecting; the same command continues from its checkpoints");
            data.push_back(collectPrompt(ctx, opt, prompts[p], int(p)));
            saveRollouts(f, data.back());
        }
        collection += data.back().cost;
        report({"collect", int64_t(p + 1), int64_t(prompts.size()), 0, 0});
    }
    std::vector<at::Tensor> zs;
    std::vector<int64_t> len, start;
    std::vector<double> rewards;
    int64_t pos = 0;
    for (const auto& r : data) {
        zs.push_back(r.z);
        for (size_t i = 0; i < r.lengths.size(); ++i) {
            start.push_back(pos);
            len.push_back(r.lengths[i]);
            pos += r.lengths[i];
            rewards.push_back(r.rewards[i]);
        }
    }
    const at::Tensor Z = at::cat(zs).to(lm.device());
    const int64_t S = static_cast<int64_t>(len.size()), d = Z.size(1);

    // Held-out responses: a seeded shuffle's first `holdout` share (at least one when asked for).
    std::vector<int64_t> order(static_cast<size_t>(S));
    std::iota(order.begin(), order.end(), 0);
    {
        at::Generator g = at::make_generator<at::CPUGeneratorImpl>(rowSeed(opt.seed, -1, -1, 0));
        const at::Tensor perm = at::randperm(S, g, at::kLong);
        for (int64_t i = 0; i < S; ++i) order[size_t(i)] = perm[i].item<int64_t>();
    }
    int64_t nHeld = static_cast<int64_t>(std::llround(opt.holdout * double(S)));
    if (opt.holdout > 0 && nHeld == 0) nHeld = 1;
    if (nHeld >= S) nHeld = S - 1;
    const std::vector<int64_t> held(order.begin(), order.begin() + nHeld), train(order.begin() + nHeld, order.end());

    // 2. Training, one checkpoint per epoch (weights and Adam moments).
    const int64_t width = opt.hidden > 0 ? opt.hidden : d;
    ValueNet net = ValueNet::init(d, width, opt.layers, rowSeed(opt.seed, -2, 0, 0)).to(lm.device());
    {   // The scales of f's units, from the training responses only.
        double sq = 0, rm = 0, rv = 0;
        int64_t n = 0;
        for (int64_t s : train) {
            sq += Z.narrow(0, start[size_t(s)], len[size_t(s)]).to(at::kDouble).pow(2).sum().item<double>();
            n += len[size_t(s)];
            rm += rewards[size_t(s)] / double(train.size());
        }
        for (int64_t s : train) rv += (rewards[size_t(s)] - rm) * (rewards[size_t(s)] - rm) / double(std::max<size_t>(train.size() - 1, 1));
        net.setScales(std::sqrt(sq / double(std::max<int64_t>(n * d, 1))), rm, std::sqrt(rv));
    }
    std::vector<at::Tensor> P = net.params(), m1, m2;
    for (auto& p : P) {
        m1.push_back(at::zeros_like(p));
        m2.push_back(at::zeros_like(p));
    }
    int64_t step = 0;
    int epoch0 = 0;
    Budget training;
    const std::string ckpt = partial + "/train.safetensors";
    if (fs::exists(ckpt)) {
        SafetensorsFile f(ckpt);
        const auto named = net.named();
        for (size_t i = 0; i < P.size(); ++i) {
            P[i].copy_(f.tensor(named[i].first));
            m1[i].copy_(f.tensor("adam.m." + named[i].first));
            m2[i].copy_(f.tensor("adam.v." + named[i].first));
        }
        const auto meta = nlohmann::json::parse(f.metadata().at("state"));
        epoch0 = meta.at("epoch").get<int>();
        step = meta.at("step").get<int64_t>();
        info.train_loss = meta.at("train_loss").get<std::vector<double>>();
        info.heldout_loss = meta.at("heldout_loss").get<std::vector<double>>();
        training = meta.at("training").get<Budget>();
    }
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    const Batch heldBatch = nHeld > 0 ? makeBatch(Z, start, len, rewards, held) : Batch{};
    int64_t trainPositions = 0;
    for (int64_t s : train) trainPositions += len[size_t(s)];
    // FLOPs of one epoch: forward 2·params per position, backward twice that.
    const double epochFlops = 6.0 * double(net.parameters()) * double(trainPositions);
    for (int epoch = epoch0; epoch < opt.epochs; ++epoch) {
        if (ctx.cancel && ctx.cancel->load()) throw Cancelled("value model training cancelled after epoch " + std::to_string(epoch) + "; the same command continues from its checkpoints");
        const auto t0 = std::chrono::steady_clock::now();
        at::Generator g = at::make_generator<at::CPUGeneratorImpl>(rowSeed(opt.seed, -3, epoch, 0));
        const at::Tensor perm = at::randperm(static_cast<int64_t>(train.size()), g, at::kLong);
        double sum = 0;
        int64_t batches = 0;
        for (int64_t off = 0; off < perm.size(0); off += opt.batch) {
            std::vector<int64_t> which;
            for (int64_t i = off; i < std::min<int64_t>(off + opt.batch, perm.size(0)); ++i)
                which.push_back(train[size_t(perm[i].item<int64_t>())]);
            const Batch bt = makeBatch(Z, start, len, rewards, which);
            at::AutoGradMode on(true);
            for (auto& p : P) p.requires_grad_(true);
            at::Tensor loss = objective(net, bt);
            loss.backward();
            ++step;
            at::NoGradGuard ng;
            const double c1 = 1 - std::pow(b1, double(step)), c2 = 1 - std::pow(b2, double(step));
            for (size_t i = 0; i < P.size(); ++i) {   // Adam (Kingma & Ba 2015, Alg. 1, as torch.optim.Adam)
                const at::Tensor gr = P[i].grad();
                m1[i].mul_(b1).add_(gr, 1 - b1);
                m2[i].mul_(b2).addcmul_(gr, gr, 1 - b2);
                const at::Tensor denom = (m2[i].sqrt() / std::sqrt(c2)).add_(eps);
                P[i].detach().addcdiv_(m1[i], denom, -opt.lr / c1);
                P[i].grad().zero_();
            }
            sum += loss.item<double>();
            ++batches;
        }
        double heldLoss = 0;
        if (nHeld > 0) {
            at::NoGradGuard ng;
            heldLoss = objective(net, heldBatch).item<double>();
        }
        info.train_loss.push_back(batches ? sum / double(batches) : 0.0);
        info.heldout_loss.push_back(heldLoss);
        training.flops += epochFlops;
        training.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        // Checkpoint: weights, moments, where we are.
        std::vector<std::pair<std::string, at::Tensor>> t;
        const auto named = net.named();
        for (size_t i = 0; i < P.size(); ++i) {
            t.emplace_back(named[i].first, P[i].detach().to(at::kCPU).contiguous());
            t.emplace_back("adam.m." + named[i].first, m1[i].to(at::kCPU).contiguous());
            t.emplace_back("adam.v." + named[i].first, m2[i].to(at::kCPU).contiguous());
        }
        const nlohmann::json state = {{"epoch", epoch + 1}, {"step", step}, {"train_loss", info.train_loss},
                                      {"heldout_loss", info.heldout_loss}, {"training", training}};
        writeSafetensors(ckpt + ".tmp", t, {{"state", state.dump()}});
        fs::rename(ckpt + ".tmp", ckpt);
        report({"train", epoch + 1, opt.epochs, info.train_loss.back(), heldLoss});
    }
    for (auto& p : P) p.requires_grad_(false);

    // 3. Calibration on the held-out responses: V at the last position against the reward.
    double mean = 0, var = 0;
    for (double r : rewards) mean += r / double(S);
    for (double r : rewards) var += (r - mean) * (r - mean) / double(std::max<int64_t>(S - 1, 1));
    info.reward_std = std::sqrt(var);
    if (nHeld > 0) {
        at::NoGradGuard ng;
        at::Tensor vl;
        objective(net, heldBatch, &vl);
        const auto pred = toVec(vl);
        double se = 0;
        info.calibration.clear();
        for (size_t i = 0; i < pred.size(); ++i) {
            const double r = rewards[size_t(held[i])];
            info.calibration.emplace_back(pred[i], r);
            se += (pred[i] - r) * (pred[i] - r);
        }
        info.heldout_rmse = std::sqrt(se / double(pred.size()));
    }
    info.prompts = static_cast<int64_t>(prompts.size());
    info.responses = S;
    info.positions = Z.size(0);
    info.input_dim = d;
    info.parameters = net.parameters();
    info.options = opt;
    info.collection = collection;
    info.training = training;
    info.epochs_done = static_cast<int>(opt.epochs);
    info.created = nowIso();
    info.path = outPath;
    saveValueModel(outPath, net, info);
    fs::remove_all(partial);
    return info;
}

} // namespace rudder::methods
