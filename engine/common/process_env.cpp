#include <unistd.h>

#include <cstdlib>

#include "rudder/runtime_init.h"

namespace rudder {

void preferPassiveOpenMP(char** argv)
{
    if (std::getenv("OMP_WAIT_POLICY")) return;
    setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    execv("/proc/self/exe", argv);   // returns only on failure: then run as we are
}

} // namespace rudder
