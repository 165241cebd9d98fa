// Errors the user sees: one message that names the file and the field at fault.
#pragma once
#include <stdexcept>
#include <string>

namespace rudder {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
    // "FILE: FIELD: what" — the shape every bad-input message takes.
    Error(const std::string& file, const std::string& field, const std::string& what);
};

// Distinguishes "you asked for something wrong" (exit code 2) from a run failure.
class UsageError : public Error {
public:
    using Error::Error;
};

// The user stopped a run while it waited on something that is not a decode step (an external
// reward scorer): the run ends `cancelled`, not failed.
class Cancelled : public Error {
public:
    using Error::Error;
};

} // namespace rudder
