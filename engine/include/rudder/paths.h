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
// "demo-rm", "demo-rm-small" and "demo-math-rm" name the shipped reward models; anything else is
// returned as is.
std::string resolveDemoReward(const std::string& spec);
// The reasoning demo (questions with a checkable answer): resources/models/demo-math-lm, -rm.
std::string demoMathModelDir();
std::string demoMathRewardDir();
// "demo-lm" and "demo-math-lm" name the shipped base models; anything else is returned as is.
std::string resolveDemoModel(const std::string& spec);

} // namespace rudder
