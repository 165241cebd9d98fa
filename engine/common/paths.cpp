#include "rudder/paths.h"

#include <cstdlib>
#include <filesystem>
#include <unistd.h>

namespace fs = std::filesystem;

namespace rudder {

std::string resourcesDir()
{
    if (const char* env = std::getenv("RUDDER_RESOURCES"); env && *env) return env;
    if (fs::is_directory(RUDDER_SOURCE_RESOURCES)) return RUDDER_SOURCE_RESOURCES;
    char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n > 0) {
        buf[n] = 0;
        fs::path installed = fs::path(buf).parent_path().parent_path() / "share" / "rudder";
        if (fs::is_directory(installed)) return installed.string();
    }
    return RUDDER_SOURCE_RESOURCES;
}

std::string demoModelDir() { return (fs::path(resourcesDir()) / "models" / "demo-lm").string(); }
std::string demoRewardDir() { return (fs::path(resourcesDir()) / "models" / "demo-rm").string(); }
std::string demoSmallRewardDir() { return (fs::path(resourcesDir()) / "models" / "demo-rm-small").string(); }
std::string demoMathModelDir() { return (fs::path(resourcesDir()) / "models" / "demo-math-lm").string(); }
std::string demoMathRewardDir() { return (fs::path(resourcesDir()) / "models" / "demo-math-rm").string(); }
std::string resolveDemoReward(const std::string& spec)
{
    if (spec == "demo-rm") return demoRewardDir();
    if (spec == "demo-rm-small") return demoSmallRewardDir();
    if (spec == "demo-math-rm") return demoMathRewardDir();
    return spec;
}
std::string resolveDemoModel(const std::string& spec)
{
    if (spec == "demo-lm") return demoModelDir();
    if (spec == "demo-math-lm") return demoMathModelDir();
    return spec;
}

} // namespace rudder
