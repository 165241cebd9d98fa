// inspectModel(): what a model directory holds, read from config.json, the safetensors headers
// and the tokenizer files only — no weights are loaded, so it is instant even for 70B models.
// (inspectCheckpoint() of the model runtime reads the headers; this adds identity and tokenizer.)
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "model/loader.h"
#include "rudder/file_read.h"
#include "rudder/json_file.h"
#include "rudder/error.h"
#include "rudder/templates.h"
#include "rudder/tokenizer.h"
#include "rudder/workbench.h"
#include "rudder/sha256.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace rudder {

namespace {

json readJsonFile(const fs::path& p) { return rudder::readJsonFile(p.string()); }

std::string readFile(const fs::path& p) { return readFileCapped(p.string(), kCapSmallJson, "model config"); }

std::vector<fs::path> weightFiles(const fs::path& dir)
{
    std::vector<fs::path> files;
    if (fs::exists(dir / "model.safetensors.index.json")) {
        json idx = readJsonFile(dir / "model.safetensors.index.json");
        if (!idx.contains("weight_map") || !idx["weight_map"].is_object())
            throw Error((dir / "model.safetensors.index.json").string(), "weight_map", "missing or not an object");
        std::set<std::string> names;
        for (auto& [k, v] : idx["weight_map"].items())
            if (v.is_string()) names.insert(v.get<std::string>());
        for (const auto& n : names) files.push_back(dir / n);
    } else {
        for (const auto& e : fs::directory_iterator(dir))
            if (e.path().extension() == ".safetensors") files.push_back(e.path());
        std::sort(files.begin(), files.end());
    }
    if (files.empty()) throw Error(dir.string(), "model.safetensors", "no safetensors weights in the directory");
    for (const auto& f : files)
        if (!fs::exists(f)) throw Error(f.string(), "", "listed in model.safetensors.index.json but missing");
    return files;
}

int64_t getInt(const json& cfg, std::initializer_list<const char*> keys)
{
    for (const char* k : keys)
        if (cfg.contains(k) && cfg[k].is_number_integer()) return cfg[k].get<int64_t>();
    // Multimodal configs (Gemma 3) nest the language model's numbers under text_config.
    if (cfg.contains("text_config") && cfg["text_config"].is_object()) return getInt(cfg["text_config"], keys);
    return 0;
}

std::string lowerDtype(const std::string& st)
{
    static const std::map<std::string, std::string> m = {
        {"F32", "fp32"}, {"F16", "fp16"}, {"BF16", "bf16"}, {"F64", "fp64"}, {"I64", "int64"},
        {"I32", "int32"}, {"I8", "int8"}, {"U8", "uint8"}, {"BOOL", "bool"}, {"F8_E4M3", "fp8_e4m3"},
        {"F8_E5M2", "fp8_e5m2"}};
    auto it = m.find(st);
    return it == m.end() ? st : it->second;
}

// The tokenizer as the engine will load it; an unsupported one is reported, not fatal, since
// inspect is how a user finds out.
std::string tokenizerType(const fs::path& dir)
{
    if (!fs::exists(dir / "tokenizer.json"))
        return fs::exists(dir / "tokenizer.model") ? "unsupported (tokenizer.model only; tokenizer.json needed)" : "";
    try {
        return Tokenizer::fromDirectory(dir.string())->type();
    } catch (const Error& e) {
        return std::string("unsupported (") + e.what() + ")";
    }
}

std::string templateName(const fs::path& dir)
{
    if (!fs::exists(dir / "tokenizer_config.json")) return "raw";
    return detectTemplate(readJsonFile(dir / "tokenizer_config.json"));
}

// Identity of the weights by content, so a copy (a fresh clone, another machine, rsync without
// -t) has the same one: every file's name and size, the safetensors header (names, dtypes,
// shapes, offsets) and 64 slices of 4 KiB spread evenly over the rest, with its last 64 KiB.
// About 0.3 MB read per file, whatever its size.
std::string fingerprint(const std::vector<fs::path>& files)
{
    Sha256 h;
    std::vector<char> buf(64 * 1024);
    auto hashRange = [&](std::ifstream& in, std::uint64_t at, std::uint64_t n) {
        in.clear();
        in.seekg(static_cast<std::streamoff>(at));
        while (n > 0 && in) {
            in.read(buf.data(), static_cast<std::streamsize>(std::min<std::uint64_t>(n, buf.size())));
            const auto got = static_cast<std::uint64_t>(in.gcount());
            if (got == 0) break;
            h.update(buf.data(), size_t(got));
            n -= got;
        }
    };
    for (const auto& f : files) {
        struct stat st {};
        ::stat(f.c_str(), &st);
        const auto size = static_cast<std::uint64_t>(st.st_size);
        const std::string meta = f.filename().string() + "|" + std::to_string(size) + "\n";
        h.update(meta.data(), meta.size());
        std::ifstream in(f, std::ios::binary);
        // The header: its declared length, within the file (a broken one is refused elsewhere).
        std::uint64_t headerEnd = std::min<std::uint64_t>(size, 64 * 1024);
        unsigned char len[8] = {};
        if (size >= 8 && in.read(reinterpret_cast<char*>(len), 8)) {
            std::uint64_t n = 0;
            for (int i = 7; i >= 0; --i) n = (n << 8) | len[i];
            if (n <= size - 8) headerEnd = std::max<std::uint64_t>(headerEnd, 8 + n);
        }
        hashRange(in, 0, headerEnd);
        if (size > headerEnd) {
            const std::uint64_t body = size - headerEnd, slice = 4096, slices = 64;
            for (std::uint64_t k = 0; k < slices && body > slice; ++k) hashRange(in, headerEnd + (body - slice) * k / (slices - 1), slice);
            const std::uint64_t tail = std::min<std::uint64_t>(body, 64 * 1024);
            hashRange(in, size - tail, tail);
        }
    }
    return h.hex();
}

// The fingerprint before 2026-12-08: names, sizes and modification times, first and last 64 KiB.
// A copy changed it; sessions recorded with it still resume on the machine that wrote them.
std::string mtimeFingerprint(const std::vector<fs::path>& files)
{
    Sha256 h;
    constexpr std::streamoff chunk = 64 * 1024;
    std::vector<char> buf(chunk);
    for (const auto& f : files) {
        struct stat st {};
        ::stat(f.c_str(), &st);
        std::string meta = f.filename().string() + "|" + std::to_string(st.st_size) + "|" +
                           std::to_string(static_cast<long long>(st.st_mtime)) + "\n";
        h.update(meta.data(), meta.size());
        std::ifstream in(f, std::ios::binary);
        const std::streamoff size = static_cast<std::streamoff>(st.st_size);
        in.read(buf.data(), std::min(chunk, size));
        h.update(buf.data(), static_cast<size_t>(in.gcount()));
        if (size > chunk) {
            in.clear();
            in.seekg(std::max(chunk, size - chunk));
            in.read(buf.data(), chunk);
            h.update(buf.data(), static_cast<size_t>(in.gcount()));
        }
    }
    return h.hex();
}

} // namespace

json ModelSummary::toJson() const
{
    return json{{"directory", directory},       {"architecture", architecture},
                {"model_type", model_type},     {"parameters", parameters},
                {"stored_dtype", stored_dtype}, {"device", device},
                {"dtype", dtype},               {"hidden_size", hidden_size},
                {"vocab_size", vocab_size},     {"layers", layers},
                {"tokenizer_type", tokenizer_type}, {"chat_template", chat_template},
                {"reward_head", reward_head},   {"config_sha256", config_sha256},
                {"weights_fingerprint", weights_fingerprint},
                {"weights_fingerprint_mtime", weights_fingerprint_mtime}};
}

ModelSummary inspectModel(const std::string& dirName)
{
    const fs::path dir(dirName);
    if (!fs::is_directory(dir)) throw Error(dirName, "", "not a model directory (does not exist or is not a directory)");
    const fs::path cfgPath = dir / "config.json";
    if (!fs::exists(cfgPath)) throw Error(cfgPath.string(), "", "missing (not a Hugging Face model directory)");

    ModelSummary s;
    s.directory = dirName;
    const std::string cfgText = readFile(cfgPath);
    s.config_sha256 = sha256Hex(cfgText);
    const json cfg = parseJsonText(cfgText, cfgPath.string());
    if (!cfg.is_object()) throw Error(cfgPath.string(), "", "not a JSON object");
    if (cfg.contains("architectures") && cfg["architectures"].is_array() && !cfg["architectures"].empty() &&
        cfg["architectures"][0].is_string())
        s.architecture = cfg["architectures"][0].get<std::string>();
    if (cfg.contains("model_type") && cfg["model_type"].is_string()) s.model_type = cfg["model_type"].get<std::string>();
    s.hidden_size = getInt(cfg, {"hidden_size", "n_embd", "d_model"});
    s.vocab_size = getInt(cfg, {"vocab_size"});
    s.layers = getInt(cfg, {"num_hidden_layers", "n_layer", "num_layers"});

    // Parameter count, stored dtype and reward head from the safetensors headers; this also
    // refuses architectures the runtime cannot run, naming the field.
    const ModelInfo info = inspectCheckpoint(dirName);
    s.parameters = info.config.num_parameters;
    s.stored_dtype = lowerDtype(info.stored_dtype);
    s.reward_head = info.reward_head;
    if (s.hidden_size == 0) s.hidden_size = info.config.hidden_size;
    if (s.vocab_size == 0) s.vocab_size = info.config.vocab_size;
    if (s.layers == 0) s.layers = info.config.num_layers;
    const auto files = weightFiles(dir);

    s.tokenizer_type = tokenizerType(dir);
    s.chat_template = templateName(dir);
    s.weights_fingerprint = fingerprint(files);
    s.weights_fingerprint_mtime = mtimeFingerprint(files);
    return s;
}

} // namespace rudder
