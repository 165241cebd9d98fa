// Built without cpp-httplib (a GPU box with only PyTorch and no Debian packages): serving engines
// are refused with the reason, everything else works.
#include "rudder/error.h"
#include "rudder/remote.h"

namespace rudder {

namespace {
[[noreturn]] void unavailable(const std::string& what)
{
    throw UsageError(what, "", "this build of Rudder has no HTTP client (cpp-httplib was not found when it was "
                               "configured; install libcpp-httplib-dev and rebuild)");
}
} // namespace

std::vector<std::string> remoteModelIds(const RemoteEndpoint& s, const RemoteOptions&) { unavailable(s.spec); }
bool remoteOffersPrelogits(const RemoteEndpoint&, const RemoteOptions&) { return false; }
std::unique_ptr<CompletionBackend> makeRemoteCompletions(const RemoteEndpoint& s, const RemoteOptions&, std::vector<int64_t>)
{
    unavailable(s.spec);
}
std::unique_ptr<RewardFunction> makeRemoteReward(const RemoteEndpoint& s, const RemoteOptions&) { unavailable(s.spec); }

} // namespace rudder
