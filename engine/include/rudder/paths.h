// Where the shipped resources (demo models, lexicons) live.
#pragma once
#include <string>

namespace rudder {

// $RUDDER_RESOURCES if set, else the source tree's resources/ (a build-tree binary), else
// <exe>/../share/rudder (an installed binary).
std::string resourcesDir();
std::string demoModelDir();   // resources/models/demo-lm
std::string demoRewardDir();  // resources/models/demo-rm
// resources/models/demo-rm-small: a weak proxy (few gold labels) under which best-of-n over-optimises.
std::string demoSmallRewardDir();
// "demo-rm" and "demo-rm-small" name the shipped reward models; anything else is returned as is.
std::string resolveDemoReward(const std::string& spec);

} // namespace rudder
