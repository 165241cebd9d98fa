// Where the shipped resources (demo models, lexicons) live.
#pragma once
#include <string>

namespace rudder {

// $RUDDER_RESOURCES if set, else the source tree's resources/ (a build-tree binary), else
// <exe>/../share/rudder (an installed binary).
std::string resourcesDir();
std::string demoModelDir();   // resources/models/demo-lm
std::string demoRewardDir();  // resources/models/demo-rm

} // namespace rudder
