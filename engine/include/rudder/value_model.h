// RE-Control's value function on the pre-logits (Kong et al. 2024): how it is trained, what a
// trained one records about itself, and where it is kept — torch-free, so the CLI, the GUI and
// the session code can read it.  The torch half is engine/methods/value_function.*.
//
// A value model is one safetensors file: the MLP's weights (fc0.weight, fc0.bias, ...) and, under
// the metadata key "rudder.value_model", the JSON of ValueModelInfo (what it was trained on, by
// which models, its losses, held-out calibration and what training cost).  Its name is the
// training key (a hash of the base model's and the reward's fingerprints, the rendered training
// prompts and the options), so a second run with the same inputs finds it and trains nothing.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "rudder/events.h"

namespace rudder {

struct ValueTrainOptions {
    // Collection: M responses per training prompt from the base model (plain sampling).
    int64_t samples_per_prompt = 16;
    int64_t max_new_tokens = 48;
    double temperature = 1.0;
    // The MLP on z: `layers` hidden layers of width `hidden` (0 = the model's hidden size, as
    // RE-Control's 4096 for Llama), ReLU, one output.  RE-Control's train_value_model.py has 2.
    int64_t hidden = 0;
    int64_t layers = 2;
    // Adam on RE-Control's objective; `holdout` of the responses are kept out for the held-out
    // loss and the calibration plot.
    int64_t epochs = 40;
    double lr = 1e-3;
    int64_t batch = 32;
    double holdout = 0.1;
    uint64_t seed = 0;

    nlohmann::json toJson() const;
    static ValueTrainOptions fromJson(const nlohmann::json& j);   // toJson()'s keys
    // From a RE-Control run config: train_samples, train_epochs, value_lr, value_hidden,
    // value_layers, train_batch, max_new_tokens (its "lr" and "steps" are the ascent's, not Adam's).
    static ValueTrainOptions fromRunConfig(const nlohmann::json& config);
    static const std::vector<std::string>& runConfigKeys();   // the keys fromRunConfig reads
};

struct ValueModelInfo {
    std::string path;                 // where it was read from / written to (the file's own record: where it was written)
    std::string key;                  // training key (sha256 hex, the file's name)
    std::string created;              // UTC, ISO 8601
    nlohmann::json base, reward;      // identities of the base model and reward it was trained with
    std::string prompt_template;
    int64_t prompts = 0, responses = 0, positions = 0;
    int64_t input_dim = 0, parameters = 0;
    ValueTrainOptions options;
    std::vector<double> train_loss, heldout_loss;   // per epoch, RE-Control's objective per response
    double heldout_rmse = 0, reward_std = 0;        // V(z_last) vs r on held-out responses; spread of r
    std::vector<std::pair<double, double>> calibration;   // held-out (predicted V(z_last), realised r)
    Budget collection, training;      // what making it cost: collection samples/tokens/FLOPs/seconds; training FLOPs/seconds
    int epochs_done = 0;

    nlohmann::json toJson() const;
    static ValueModelInfo fromJson(const nlohmann::json& j);
    Budget total() const;             // collection + training
};

struct ValueTrainProgress {
    std::string stage;                // "collect" or "train"
    int64_t done = 0, total = 0;      // prompts collected, or epochs trained
    double train_loss = 0, heldout_loss = 0;   // the last epoch's (stage "train")
};

// Where a session keeps its value models: "S.sqlite" -> "S.values/" beside it.
std::string valueStoreFor(const std::string& sessionPath);

// The cost of a value model on the budget axes, as a RE-Control run's events and `compare`
// report it next to the run's own budget.
nlohmann::json valueTrainingStats(const ValueModelInfo& info);

} // namespace rudder
