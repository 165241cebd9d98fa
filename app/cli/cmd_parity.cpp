// rudder-cli parity: Rudder's runtime against Hugging Face transformers' own outputs (fixtures
// written by tests/reference/make_hf_fixtures.py), on any device and dtype.  The test suite runs
// the same checks on the CPU; this command is for a GPU box, where Qt Test is usually absent.
// Exit 0: every check within tolerance; 1: a mismatch; 2: bad input (no fixtures, unreadable one).

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "rudder/error.h"
#include "rudder/parity.h"
#include "rudder/runtime_init.h"

namespace fs = std::filesystem;

namespace rudder::cli {

namespace {

struct ParityOptions {
    std::string fixtures, device = "cpu", dtype = "fp32", json;
    double tolerance = 0;
    int threads = 0;
    bool verbose = false;
};

int run(const ParityOptions& o)
{
    if (!fs::is_directory(o.fixtures)) throw UsageError(o.fixtures, "--fixtures", "is not a directory");
    // One fixture, or a folder of them.
    std::vector<std::string> dirs = fs::exists(fs::path(o.fixtures) / "expected.safetensors")
                                        ? std::vector<std::string>{o.fixtures}
                                        : findHfFixtures(o.fixtures);
    if (dirs.empty())
        throw UsageError(o.fixtures, "--fixtures", "holds no fixture (a folder with expected.safetensors, or folders of them)");
    initTorchRuntime(o.threads);
    const double tol = o.tolerance > 0 ? o.tolerance : parityTolerance(o.dtype);
    std::printf("parity against transformers: %zu fixtures, device %s, dtype %s, tolerance %.0e relative\n", dirs.size(),
                o.device.c_str(), o.dtype.c_str(), tol);
    std::printf("%-22s %-10s %-40s %9s %7s  %s\n", "fixture", "kind", "architecture", "max err", "checks", "result");
    nlohmann::json all = nlohmann::json::array();
    int mismatches = 0, unreadable = 0;
    for (const auto& d : dirs) {
        const std::string name = fs::path(d).filename().string();
        nlohmann::json j = {{"fixture", name}, {"device", o.device}, {"dtype", o.dtype}, {"tolerance", tol}};
        try {
            const ParityResult r = checkHfFixture(d, o.device, o.dtype, tol);
            std::printf("%-22s %-10s %-40s %9.1e %7zu  %s\n", name.c_str(), r.kind.c_str(), r.architecture.c_str(), r.worst(),
                        r.checks.size(), r.pass() ? "ok" : "MISMATCH");
            // Transformers' own bf16 error is the yardstick of a reduced-precision run only.
            const bool lowPrecision = o.dtype == "bf16" || o.dtype == "fp16";
            if (lowPrecision && r.referenceBf16Error >= 0)
                std::printf("%-22s transformers' own bf16 prefill vs its fp32: %.1e\n", "", r.referenceBf16Error);
            nlohmann::json checks = nlohmann::json::array();
            for (const auto& c : r.checks) {
                checks.push_back({{"what", c.what}, {"rel_error", c.relError}, {"pass", c.pass()}});
                if (!c.pass() || o.verbose)
                    std::printf("%-22s   %-48s %9.1e%s\n", "", c.what.c_str(), c.relError, c.pass() ? "" : "  > tolerance");
            }
            j.update({{"kind", r.kind}, {"architecture", r.architecture}, {"max_rel_error", r.worst()}, {"pass", r.pass()},
                      {"checks", checks}});
            if (lowPrecision && r.referenceBf16Error >= 0) j["transformers_bf16_rel_error"] = r.referenceBf16Error;
            if (!r.pass()) ++mismatches;
        } catch (const std::exception& e) {
            std::printf("%-22s %-10s %s\n", name.c_str(), "ERROR", e.what());
            j.update({{"pass", false}, {"error", e.what()}});
            ++unreadable;
        }
        std::fflush(stdout);
        all.push_back(j);
    }
    if (!o.json.empty()) {
        std::ofstream f(o.json, std::ios::trunc);
        if (!f) throw UsageError(o.json, "--json", "cannot be written");
        f << nlohmann::json{{"fixtures", all}, {"device", o.device}, {"dtype", o.dtype}, {"tolerance", tol}}.dump(2) << "\n";
    }
    std::printf("%zu fixtures: %zu within tolerance, %d mismatched, %d could not be checked\n", dirs.size(),
                dirs.size() - size_t(mismatches + unreadable), mismatches, unreadable);
    return mismatches ? 1 : unreadable ? 2 : 0;
}

} // namespace

void addParityCommand(CLI::App& app)
{
    auto o = std::make_shared<ParityOptions>();
    auto* cmd = app.add_subcommand(
        "parity", "Check the runtime against Hugging Face transformers' outputs: every fixture (tiny model + "
                  "expected.safetensors, written by tests/reference/make_hf_fixtures.py) under --fixtures, through "
                  "prefill, KV-cache decoding and padded batches");
    cmd->add_option("--fixtures", o->fixtures, "a fixture folder, or a folder of them (tests/reference/hf)")->required();
    cmd->add_option("--device", o->device, "cpu | cuda | cuda:N | auto")->capture_default_str();
    cmd->add_option("--dtype", o->dtype, "fp32 | fp64 | bf16 | fp16")->capture_default_str();
    cmd->add_option("--tolerance", o->tolerance,
                    "largest relative error (max |diff| / max |reference|); 0: the dtype's (fp32 1e-4, fp16 1e-2, bf16 5e-2)")
        ->capture_default_str();
    cmd->add_option("--json", o->json, "also write every check's error to this file");
    cmd->add_flag("--verbose", o->verbose, "print every check, not only the failing ones");
    cmd->add_option("--threads", o->threads, "CPU threads (0: the runtime's choice)")->capture_default_str();
    cmd->callback([o] {
        const int rc = run(*o);
        if (rc == 1) throw Error("parity: at least one fixture differs from transformers beyond the tolerance");
        if (rc == 2) throw UsageError("parity: at least one fixture could not be checked (see above)");
    });
}

} // namespace rudder::cli
