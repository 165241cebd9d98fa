// What every build has, with or without an HTTP client: server addresses as the user writes
// them, and the CompletionBackend capabilities a backend does not offer (rudder/completion.h).
#include "rudder/error.h"
#include "rudder/remote.h"

namespace rudder {

NextTokens CompletionBackend::nextTokens(const std::vector<int32_t>&, int64_t, const std::atomic<bool>*)
{
    throw UsageError(name(), "", "cannot give next-token distributions");
}

PerturbedDecodes CompletionBackend::perturbed(const PerturbedRequest&, const std::atomic<bool>*)
{
    throw UsageError(name(), "", "cannot perturb pre-logits (AISP needs the model here or rudder-cli serve)");
}

PrelogitInfo CompletionBackend::prelogitInfo(const std::vector<int32_t>&, const std::atomic<bool>*)
{
    throw UsageError(name(), "", "cannot report pre-logits (AISP needs the model here or rudder-cli serve)");
}

bool isRemoteSpec(const std::string& spec) { return spec.rfind("http://", 0) == 0 || spec.rfind("https://", 0) == 0; }

RemoteEndpoint parseRemoteSpec(const std::string& spec)
{
    if (!isRemoteSpec(spec)) throw UsageError(spec, "", "is not a server address (http://HOST:PORT/PATH[#MODEL])");
    RemoteEndpoint e;
    e.spec = spec;
    std::string rest = spec;
    if (const auto hash = rest.find('#'); hash != std::string::npos) {
        e.model = rest.substr(hash + 1);
        rest = rest.substr(0, hash);
    }
    const size_t schemeEnd = rest.find("://") + 3;
    const size_t slash = rest.find('/', schemeEnd);
    e.origin = rest.substr(0, slash);
    e.path = slash == std::string::npos ? "" : rest.substr(slash);
    while (!e.path.empty() && e.path.back() == '/') e.path.pop_back();
    const std::string host = e.origin.substr(schemeEnd);
    if (host.empty() || host.front() == ':')
        throw UsageError(spec, "host", "is missing (write http://HOST:PORT/v1)");
    if (e.path.find('?') != std::string::npos)
        throw UsageError(spec, "path", "has a query string; give the API root (e.g. /v1) and the model after '#'");
    return e;
}

} // namespace rudder
