// Process-wide libtorch set-up, callable from torch-free code.
#pragma once
#include <string>

namespace rudder {

// Sets the intra-op thread count to the machine's cores (libtorch 1.13 defaults to 1 here).
// Idempotent.  Returns the thread count in use.
int initTorchRuntime(int threads = 0);

// Call first thing in main(): when OMP_WAIT_POLICY is unset, sets it to PASSIVE and re-executes
// the program (OpenMP reads it when the library loads, before main).  OpenMP threads otherwise
// spin-wait: with one other busy process on 2 cores an AISP run took 133 s instead of 20 s, and a
// desktop app always competes with its own redraws.  A value the user set is kept.  Returns only
// when no re-exec happened (already set, or exec failed).
void preferPassiveOpenMP(char** argv);

// "libtorch 1.13.1 (CPU)" or "libtorch 2.x (CUDA 12.x)": recorded in every session.
std::string torchVersionString();
bool cudaAvailable();

} // namespace rudder
