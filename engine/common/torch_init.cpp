#include "rudder/runtime_init.h"

#include <ATen/Parallel.h>
#include <ATen/Context.h>
#include <torch/version.h>
#if __has_include(<torch/cuda.h>)
#include <torch/cuda.h>
#define RUDDER_HAS_TORCH_CUDA_H 1
#endif

#include <mutex>
#include <thread>

namespace rudder {

int initTorchRuntime(int threads)
{
    static std::once_flag once;
    static int used = 1;
    std::call_once(once, [&] {
        int n = threads > 0 ? threads : static_cast<int>(std::thread::hardware_concurrency());
        if (n < 1) n = 1;
        at::set_num_threads(n);
        used = n;
    });
    return used;
}

bool cudaAvailable()
{
#ifdef RUDDER_HAS_TORCH_CUDA_H
    return torch::cuda::is_available();
#else
    return false;
#endif
}

std::string torchVersionString()
{
    std::string s = "libtorch " TORCH_VERSION;
    s += cudaAvailable() ? " (CUDA)" : " (CPU)";
    return s;
}

} // namespace rudder
