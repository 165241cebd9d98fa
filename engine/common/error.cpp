#include "rudder/error.h"

namespace rudder {

static std::string compose(const std::string& file, const std::string& field, const std::string& what)
{
    std::string m = file;
    if (!field.empty()) m += (m.empty() ? "" : ": ") + field;
    m += (m.empty() ? "" : ": ") + what;
    return m;
}

Error::Error(const std::string& file, const std::string& field, const std::string& what)
    : std::runtime_error(compose(file, field, what)) {}

} // namespace rudder
