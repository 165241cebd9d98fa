// rudder-cli methods [METHOD] [--json]: every method's settings (the --set keys) with their
// ranges, defaults and help, and its presets, straight from the descriptors (rudder/methods.h),
// so the CLI documents the same knobs as the GUI's sliders.
#include <iomanip>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "rudder/error.h"
#include "rudder/methods.h"

namespace rudder::cli {

namespace {

std::string number(double v, bool integer)
{
    std::ostringstream s;
    if (integer) s << static_cast<long long>(v);
    else s << v;
    return s.str();
}

nlohmann::json describe(const MethodInfo& m)
{
    nlohmann::json params = nlohmann::json::array();
    for (const auto& p : m.params)
        params.push_back({{"key", p.key}, {"label", p.label}, {"min", p.min}, {"max", p.max}, {"default", p.def},
                          {"integer", p.integer}, {"help", p.help}});
    for (const auto& k : m.textParams) params.push_back({{"key", k}, {"text", true}});
    nlohmann::json presets = nlohmann::json::array();
    for (const auto& p : m.presets) presets.push_back({{"name", p.name}, {"values", p.values}});
    return {{"id", m.id}, {"title", m.title}, {"params", params}, {"presets", presets}};
}

} // namespace

void addMethodsCommand(CLI::App& app)
{
    struct Opts {
        std::string method;
        bool json = false;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* cmd = app.add_subcommand("methods", "List the methods and their settings (the keys of run's --set): range, "
                                                  "default, what each does, and the presets from the papers' tables.");
    cmd->add_option("METHOD", o->method, "One method (default: all)");
    cmd->add_flag("--json", o->json, "The same as JSON");
    cmd->callback([o] {
        std::vector<const MethodInfo*> list;
        if (o->method.empty()) {
            for (const auto& m : allMethods()) list.push_back(&m);
        } else {
            const MethodInfo* m = findMethod(o->method);
            if (!m) {
                std::string known;
                for (const auto& x : allMethods()) known += (known.empty() ? "" : ", ") + x.id;
                throw UsageError("METHOD", o->method, "unknown method (known: " + known + ")");
            }
            list.push_back(m);
        }
        if (o->json) {
            nlohmann::json all = nlohmann::json::array();
            for (const auto* m : list) all.push_back(describe(*m));
            std::cout << (o->method.empty() ? all : all.front()).dump(2) << "\n";
            return;
        }
        for (const auto* m : list) {
            std::cout << m->id << " — " << m->title << "\n";
            for (const auto& p : m->params)
                std::cout << "  --set " << std::left << std::setw(18) << (p.key + "=" + number(p.def, p.integer)) << " ["
                          << number(p.min, p.integer) << ", " << number(p.max, p.integer) << "]  " << p.help << "\n";
            for (const auto& k : m->textParams) std::cout << "  --set " << k << "=TEXT\n";
            for (const auto& p : m->presets) std::cout << "  preset: " << p.name << "  " << p.values.dump() << "\n";
            std::cout << "\n";
        }
    });
}

} // namespace rudder::cli
