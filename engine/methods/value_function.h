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

// V(z) = fc_L(relu(... relu(fc_0(z)))) with `layers` hidden layers of width `hidden`
// (layers = 0: a linear value w·z + b).  Initialised as PyTorch's nn.Linear is, U(±1/√fan_in).
class ValueNet {
public:
    static ValueNet init(int64_t inputDim, int64_t hidden, int64_t layers, uint64_t seed);
    at::Tensor forward(const at::Tensor& z) const;   // [..., d] -> [...], fp32
    std::vector<at::Tensor> params() const;          // fc0.weight, fc0.bias, fc1.weight, ...
    std::vector<std::pair<std::string, at::Tensor>> named() const;
    static ValueNet fromNamed(const std::vector<std::pair<std::string, at::Tensor>>& tensors, const std::string& file);
    ValueNet to(at::Device device) const;            // a detached copy on `device`
    int64_t inputDim() const { return w_.empty() ? 0 : w_.front().size(1); }
    int64_t parameters() const;

private:
    std::vector<at::Tensor> w_, b_;
};

// RE-Control eq. (test time): `steps` steps of gradient ascent of size `lr` on V from z ([m, d]),
// each row on its own (V is summed over rows: the rows do not interact).  Returns z + δ in z's
// dtype; lr = 0 or steps = 0 returns z unchanged.  `valueBefore`/`valueAfter` (optional) receive
// V at the start and the end per row.
at::Tensor ascendValue(const ValueNet& v, const at::Tensor& z, double lr, int64_t steps,
                       at::Tensor* valueBefore = nullptr, at::Tensor* valueAfter = nullptr);

struct LoadedValueModel {
    ValueNet net;
    ValueModelInfo info;
};
// Throws rudder::Error naming the file and what is wrong with it.
LoadedValueModel loadValueModel(const std::string& path);
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
