// Random-weight models written as real Hugging Face directories (config.json + model.safetensors
// with the family's HF tensor names): the tests' tiny models and `rudder-cli bench --random-config`.
#pragma once
// The declarations live in the torch-free rudder/runtime_probe.h (the CLI writes random models too).
#include "rudder/runtime_probe.h"
