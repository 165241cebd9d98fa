#include "model/loader.h"

#include "model/model_config.h"
#include "model/reward_model.h"
#include "model/safetensors.h"
#include "model/transformer.h"
#include "rudder/error.h"
#include "rudder/runtime_init.h"

namespace rudder {

at::Device parseDevice(const std::string& device)
{
    if (device.empty() || device == "auto") return cudaAvailable() ? at::Device(at::kCUDA, 0) : at::Device(at::kCPU);
    if (device == "cpu") return at::Device(at::kCPU);
    if (device == "cuda" || device.rfind("cuda:", 0) == 0) {
        if (!cudaAvailable()) throw UsageError("", "device", "'" + device + "' requested but no CUDA device is available");
        try {
            return at::Device(device == "cuda" ? std::string("cuda:0") : device);
        } catch (const std::exception&) {
            throw UsageError("", "device", "'" + device + "' is not a device (auto, cpu, cuda, cuda:N)");
        }
    }
    throw UsageError("", "device", "'" + device + "' is not a device (auto, cpu, cuda, cuda:N)");
}

at::ScalarType parseDtype(const std::string& dtype, at::Device device)
{
    if (dtype.empty() || dtype == "auto") return device.is_cuda() ? at::kBFloat16 : at::kFloat;
    if (dtype == "fp32" || dtype == "float32") return at::kFloat;
    if (dtype == "bf16" || dtype == "bfloat16") return at::kBFloat16;
    if (dtype == "fp64" || dtype == "float64") return at::kDouble;
    if (dtype == "fp16" || dtype == "float16") {
        // libtorch 1.13 has no fp16 matmul on CPU.
        if (!device.is_cuda()) throw UsageError("", "dtype", "fp16 runs on CUDA only; use fp32 or bf16 on CPU");
        return at::kHalf;
    }
    throw UsageError("", "dtype", "'" + dtype + "' is not a dtype (auto, fp32, bf16, fp16)");
}

std::unique_ptr<CausalLM> loadCausalLM(const std::string& dir, const std::string& device, const std::string& dtype)
{
    initTorchRuntime();
    LoadedConfig lc = readLoadedConfig(dir, /*forCausalLM=*/true);
    const at::Device dev = parseDevice(device);
    const at::ScalarType dt = parseDtype(dtype, dev);
    WeightStore store(dir);
    return std::make_unique<TransformerLM>(lc, store, dev, dt, /*withLmHead=*/true);
}

ModelConfig readModelConfig(const std::string& dir)
{
    LoadedConfig lc = readLoadedConfig(dir, /*forCausalLM=*/false);
    WeightStore store(dir);
    lc.model.num_parameters = store.numParameters();
    return lc.model;
}

ModelInfo inspectCheckpoint(const std::string& dir)
{
    LoadedConfig lc = readLoadedConfig(dir, /*forCausalLM=*/false);
    WeightStore store(dir);
    ModelInfo info;
    info.config = lc.model;
    info.config.num_parameters = store.numParameters();
    info.family = lc.spec.family;
    info.stored_dtype = store.storedDtype();
    info.weights = store.describe();
    const auto names = store.names();
    info.tensors = static_cast<int64_t>(names.size());
    info.reward_head = rewardHeadKind(names);
    return info;
}

} // namespace rudder
