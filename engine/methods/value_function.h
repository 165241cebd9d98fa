// RE-Control's value function (torch side, internal): the MLP, its gradient ascent, its file, and
// its training from the base model's own rollouts.  Public, torch-free view: rudder/value_model.h.
#pragma once
#include <ATen/ATen.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "methods/method.h"
#include "rudder/value_model.h"

namespace rudder::methods {

// V(z) = μ_r + σ_r · f(z / s_z),  f = fc_L(relu(... relu(fc_0(u)))) with `layers` hidden layers of
// width `hidden` (layers = 0: linear), initialised as PyTorch's nn.Linear is, U(±1/√fan_in).
// s_z is the RMS of the training pre-logits and (μ_r, σ_r) the training rewards' mean and std:
// f works in units where both are 1, so one Adam step size and one ascent step size fit any
// model's pre-logit scale and any reward model's scale (the demo LM's pre-logits have an RMS in
// the tens: an MLP on them raw diverged at lr 1e-3).  Without them (s_z = σ_r = 1, μ_r = 0) it is
// RE-Control's MLP on z as is.
class ValueNet {
public:
    static ValueNet init(int64_t inputDim, int64_t hidden, int64_t layers, uint64_t seed);
    void setScales(double inputRms, double rewardMean, double rewardStd);
    double inputScale() const { return inScale_; }
    double rewardMean() const { return outMean_; }
    double rewardStd() const { return outStd_; }
    at::Tensor mlp(const at::Tensor& u) const;       // f: [..., d] -> [...], standardised units
    at::Tensor forward(const at::Tensor& z) const;   // V: [..., d] -> [...], reward units, fp32
    std::vector<at::Tensor> params() const;          // fc0.weight, fc0.bias, fc1.weight, ...
    std::vector<std::pair<std::string, at::Tensor>> named() const;
    static ValueNet fromNamed(const std::vector<std::pair<std::string, at::Tensor>>& tensors, const std::string& file);
    ValueNet to(at::Device device) const;            // a detached copy on `device`
    int64_t inputDim() const { return w_.empty() ? 0 : w_.front().size(1); }
    int64_t parameters() const;

private:
    std::vector<at::Tensor> w_, b_;
    double inScale_ = 1, outMean_ = 0, outStd_ = 1;
};

// RE-Control eq. (test time): `steps` steps of gradient ascent of size `lr` from z ([m, d]), each
// row on its own (V is summed over rows: the rows do not interact).  The steps are taken on f in
// its standardised units, u ← u + lr·∇f(u) with u = z/s_z: lr is a distance in pre-logit RMS per
// reward std, the same on every model (with s_z = σ_r = 1, RE-Control's z ← z + lr·∇V(z)).  Returns z + δ in z's
// dtype; lr = 0 or steps = 0 returns z unchanged.  `valueBefore`/`valueAfter` (optional) receive
// V at the start and the end per row.
at::Tensor ascendValue(const ValueNet& v, const at::Tensor& z, double lr, int64_t steps,
                       at::Tensor* valueBefore = nullptr, at::Tensor* valueAfter = nullptr);

struct LoadedValueModel {
    ValueNet net;
    ValueModelInfo info;
};
// Throws rudder::UsageError naming the file and what is wrong with it.
LoadedValueModel loadValueModel(const std::string& path);
// Its record only (the header's metadata; the weights, up to hidden² floats, stay on disk):
// what resumes, fingerprint checks and the reuse of a trained model read.
ValueModelInfo readValueModelInfo(const std::string& path);
void saveValueModel(const std::string& path, const ValueNet& net, const ValueModelInfo& info);

// Collects ctx's base model's responses to `prompts` (rendered), scores them with ctx.reward and
// trains V on them; writes the result to `outPath` and returns its info.  `info` arrives with the
// identity fields filled (key, base, reward, prompt_template).  Checkpoints go to
// `outPath + ".partial/"` (each prompt's collection, each epoch's weights and Adam moments): a
// cancelled training (rudder::Cancelled) resumes there and ends as an uninterrupted one would.
ValueModelInfo trainValueModel(const MethodContext& ctx, const ValueTrainOptions& opt,
                               const std::vector<std::string>& prompts, ValueModelInfo info, const std::string& outPath,
                               const std::function<void(const ValueTrainProgress&)>& progress);

} // namespace rudder::methods
