#include "rudder/hf_cache.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>

#include "rudder/error.h"
#include "rudder/file_read.h"
#include "rudder/json_file.h"

namespace fs = std::filesystem;

namespace rudder {

namespace {

bool isCommitHash(const std::string& s)
{
    return s.size() == 40 && std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

std::string firstLine(const fs::path& p)
{
    std::string line;
    try {
        LineReader(p.string(), 4096, 1 << 20, "cache ref").next(line);   // a commit hash, bounded
    } catch (const Error&) {
        return "";
    }
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\n')) line.pop_back();
    return line;
}

fs::path repoDir(const std::string& repo)
{
    // huggingface_hub: "models--" + repo_id with "/" replaced by "--".
    return fs::path(hubCacheDir()) / ("models--" + repo.substr(0, repo.find('/')) + "--" + repo.substr(repo.find('/') + 1));
}

std::string downloadHint(const HubRef& ref)
{
    std::string cmd = "huggingface-cli download " + ref.repo;
    if (ref.revision != "main") cmd += " --revision " + ref.revision;
    std::string hint = "Rudder never downloads; on a machine with network access run `" + cmd +
                       "` and copy the cache here, or point HF_HUB_CACHE / HF_HOME at a cache that has it";
    if (const char* off = std::getenv("HF_HUB_OFFLINE"); off && *off && std::string(off) != "0")
        hint += " (HF_HUB_OFFLINE is set: this machine is meant to stay offline)";
    return hint;
}

// The snapshot's files, following symlinks into blobs/: a dangling one is an interrupted download.
uint64_t checkSnapshot(const fs::path& snap, const std::string& repo, bool throwOnDangling)
{
    uint64_t bytes = 0;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(snap, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        std::error_code e2;
        if (it->is_symlink(e2) && !fs::exists(it->path(), e2)) {
            if (throwOnDangling)
                throw UsageError(it->path().string(), "",
                                 "points to a missing blob (" + fs::read_symlink(it->path(), e2).string() +
                                     "): the download of " + repo + " did not finish");
            continue;
        }
        if (it->is_regular_file(e2)) bytes += it->file_size(e2);
    }
    return bytes;
}

} // namespace

std::optional<HubRef> parseRepoId(const std::string& spec)
{
    // Hugging Face repo names: letters, digits, '-', '_', '.'; one '/'; optional @revision.
    static const std::regex re(R"(^([A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*)(?:@([A-Za-z0-9][A-Za-z0-9._/-]*))?$)");
    std::smatch m;
    if (!std::regex_match(spec, m, re)) return std::nullopt;
    std::error_code ec;
    if (fs::exists(spec, ec)) return std::nullopt;   // a relative path that happens to look like one
    return HubRef{m[1].str(), m[2].matched ? m[2].str() : std::string("main")};
}

std::string hubCacheDir()
{
    if (const char* c = std::getenv("HF_HUB_CACHE"); c && *c) return c;
    if (const char* h = std::getenv("HF_HOME"); h && *h) return (fs::path(h) / "hub").string();
    const char* home = std::getenv("HOME");
    return (fs::path(home && *home ? home : "/") / ".cache" / "huggingface" / "hub").string();
}

nlohmann::json HubModel::toJson() const { return {{"repo", repo}, {"revision", revision}, {"commit", commit}}; }

HubModel resolveHubModel(const HubRef& ref)
{
    const fs::path dir = repoDir(ref.repo);
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        throw UsageError(ref.repo, "", "is not a directory and not in the Hugging Face cache (" + dir.string() +
                                           " is missing); " + downloadHint(ref));
    std::string commit = ref.revision;
    if (!isCommitHash(commit)) {
        const fs::path refFile = dir / "refs" / ref.revision;
        commit = firstLine(refFile);
        if (!isCommitHash(commit)) {
            std::vector<std::string> refs;
            for (auto it = fs::recursive_directory_iterator(dir / "refs", ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
                if (it->is_regular_file()) refs.push_back(fs::relative(it->path(), dir / "refs").string());
            std::sort(refs.begin(), refs.end());
            std::string cached;
            for (const auto& r : refs) cached += (cached.empty() ? "" : ", ") + r;
            throw UsageError(ref.repo, "revision " + ref.revision,
                             fs::exists(refFile, ec) ? refFile.string() + " does not hold a commit hash"
                                                     : "is not in the cache (cached revisions: " +
                                                           (cached.empty() ? std::string("none") : cached) + "); " +
                                                           downloadHint(ref));
        }
    }
    const fs::path snap = dir / "snapshots" / commit;
    if (!fs::is_directory(snap, ec))
        throw UsageError(ref.repo, "revision " + ref.revision,
                         "commit " + commit + " has no snapshot in the cache (" + snap.string() + "); " + downloadHint(ref));
    checkSnapshot(snap, ref.repo, true);
    return HubModel{snap.string(), ref.repo, ref.revision, commit};
}

std::string resolveModelSpec(const std::string& spec, std::optional<HubModel>* hub)
{
    if (hub) hub->reset();
    auto ref = parseRepoId(spec);
    if (!ref) return spec;
    HubModel m = resolveHubModel(*ref);
    std::string dir = m.directory;
    if (hub) *hub = std::move(m);
    return dir;
}

std::string modelKind(const std::string& a)
{
    auto ends = [&](const char* s) {
        const std::string t = s;
        return a.size() >= t.size() && a.compare(a.size() - t.size(), t.size(), t) == 0;
    };
    if (a.find("Reward") != std::string::npos || a.find("ValueHead") != std::string::npos ||
        ends("ForSequenceClassification"))
        return "reward model";
    if (ends("ForCausalLM") || ends("LMHeadModel")) return "causal LM";
    return "other";
}

std::vector<CachedModel> listCachedModels()
{
    std::vector<CachedModel> out;
    std::error_code ec;
    fs::directory_iterator it(hubCacheDir(), ec), end;
    for (; !ec && it != end; it.increment(ec)) try {
        const fs::directory_entry& e = *it;
        const std::string name = e.path().filename().string();
        if (name.rfind("models--", 0) != 0) continue;
        const std::string rest = name.substr(8);
        const auto sep = rest.find("--");
        if (sep == std::string::npos) continue;
        CachedModel m;
        m.repo = rest.substr(0, sep) + "/" + rest.substr(sep + 2);
        m.revision = "main";
        m.commit = firstLine(e.path() / "refs" / "main");
        std::error_code inner;   // not `ec`, which ends the outer loop
        if (!isCommitHash(m.commit) || !fs::is_directory(e.path() / "snapshots" / m.commit, inner)) {
            // No main ref (e.g. downloaded by commit): the newest snapshot.
            m.commit.clear();
            fs::file_time_type newest{};
            for (const auto& s : fs::directory_iterator(e.path() / "snapshots", inner)) {
                std::error_code e2;
                auto t = s.last_write_time(e2);
                if (s.is_directory(e2) && (m.commit.empty() || t > newest)) m.commit = s.path().filename().string(), newest = t;
            }
            if (m.commit.empty()) continue;
            m.revision = m.commit;
        }
        const fs::path snap = e.path() / "snapshots" / m.commit;
        m.directory = snap.string();
        m.bytes = checkSnapshot(snap, m.repo, false);
        try {
            const auto cfg = readJsonFile((snap / "config.json").string());
            if (cfg.contains("architectures") && cfg["architectures"].is_array() && !cfg["architectures"].empty() &&
                cfg["architectures"][0].is_string())
                m.architecture = cfg["architectures"][0].get<std::string>();
        } catch (const std::exception&) {
        }
        m.kind = modelKind(m.architecture);
        out.push_back(std::move(m));
    } catch (const std::exception&) {
        // An entry that vanished or cannot be read while we look: not listed.
    }
    std::sort(out.begin(), out.end(), [](const CachedModel& a, const CachedModel& b) { return a.repo < b.repo; });
    return out;
}

} // namespace rudder
