#include "model/loader.h"

#include <cctype>
#include <cstring>
#include <filesystem>
#include <set>

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
    if (dtype == "fp64" || dtype == "float64") return at::kDouble;   // tests and parity only: the CLI offers it there alone
    if (dtype == "fp16" || dtype == "float16") {
        // libtorch 1.13 has no fp16 matmul on CPU.
        if (!device.is_cuda()) throw UsageError("", "dtype", "fp16 runs on CUDA only; use fp32 or bf16 on CPU");
        return at::kHalf;
    }
    throw UsageError("", "dtype", "'" + dtype + "' is not a dtype (auto, fp32, bf16, fp16)");
}

void checkConfigAgainstWeights(const LoadedConfig& lc, const WeightStore& store, const std::string& dir)
{
    std::set<int64_t> layers;
    for (const auto& name : store.names()) {
        // "model.layers.12.self_attn…", "transformer.h.3.attn…": the number after a layers/h part.
        for (const char* part : {"layers.", "h."}) {
            const size_t at = name.find(part);
            if (at == std::string::npos || (at > 0 && name[at - 1] != '.')) continue;
            const size_t from = at + std::strlen(part);
            size_t to = from;
            while (to < name.size() && std::isdigit(static_cast<unsigned char>(name[to]))) ++to;
            if (to > from && to - from < 10 && to < name.size() && name[to] == '.') layers.insert(std::stoll(name.substr(from, to - from)));
        }
    }
    const int64_t want = lc.model.num_layers;
    if (static_cast<int64_t>(layers.size()) < want) {
        const std::string field = lc.json.contains("n_layer") ? "n_layer" : "num_hidden_layers";
        throw Error((std::filesystem::path(dir) / "config.json").string(), field,
                    std::to_string(want) + " layers, but the weights (" + store.describe() + ") hold " +
                        std::to_string(layers.size()));
    }
}

std::unique_ptr<CausalLM> loadCausalLM(const std::string& dir, const std::string& device, const std::string& dtype)
{
    initTorchRuntime();
    LoadedConfig lc = readLoadedConfig(dir, /*forCausalLM=*/true);
    const at::Device dev = parseDevice(device);
    const at::ScalarType dt = parseDtype(dtype, dev);
    WeightStore store(dir);
    checkConfigAgainstWeights(lc, store, dir);
    return std::make_unique<TransformerLM>(lc, store, dev, dt, /*withLmHead=*/true);
}

ModelConfig readModelConfig(const std::string& dir)
{
    LoadedConfig lc = readLoadedConfig(dir, /*forCausalLM=*/false);
    WeightStore store(dir);
    checkConfigAgainstWeights(lc, store, dir);
    lc.model.num_parameters = store.numParameters();
    return lc.model;
}

ModelInfo inspectCheckpoint(const std::string& dir)
{
    LoadedConfig lc = readLoadedConfig(dir, /*forCausalLM=*/false);
    WeightStore store(dir);
    checkConfigAgainstWeights(lc, store, dir);
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
