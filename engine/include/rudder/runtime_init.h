// Process-wide libtorch set-up, callable from torch-free code.
#pragma once
#include <string>

namespace rudder {

// Sets the intra-op thread count to the machine's cores (libtorch 1.13 defaults to 1 here).
// Idempotent.  Returns the thread count in use.
int initTorchRuntime(int threads = 0);

// "libtorch 1.13.1 (CPU)" or "libtorch 2.x (CUDA 12.x)": recorded in every session.
std::string torchVersionString();
bool cudaAvailable();

} // namespace rudder
