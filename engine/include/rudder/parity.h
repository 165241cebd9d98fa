// Parity with Hugging Face transformers: a fixture directory written by
// tests/reference/make_hf_fixtures.py (a tiny model saved with save_pretrained, and
// expected.safetensors with transformers' own outputs) checked against Rudder's runtime on any
// device and dtype.  Used by the test suite (CPU, fp32) and by `rudder-cli parity` (a GPU box,
// where Qt Test is absent).  Torch-free facade: the CLI compiles no libtorch header.
#pragma once
#include <string>
#include <vector>

namespace rudder {

struct ParityCheck {
    std::string what;        // "prefill logits", "left-padded batch, ragged prefill + decode", ...
    double relError = 0;     // max |rudder - reference| / max |reference|
    double tolerance = 0;
    bool pass() const { return relError <= tolerance; }
};

struct ParityResult {
    std::string fixture;     // the directory's name
    std::string kind;        // "causal-lm" or "reward"
    std::string architecture;
    std::vector<ParityCheck> checks;
    // Transformers' own bf16 prefill logits against its fp32 ones, when the fixture holds them
    // (make_hf_fixtures.py --bf16): the error a bf16 run cannot be expected to beat by much.
    double referenceBf16Error = -1;
    double worst() const;
    bool pass() const;
};

// The relative tolerance Rudder promises for a dtype against transformers' fp32 outputs:
// fp32/fp64 1e-4; bf16 5e-2 (8 significant bits, 2^-8 = 3.9e-3 per rounding, compounded over the
// residual stream and every matmul of the model); fp16 1e-2 (11 bits).
double parityTolerance(const std::string& dtype);

// The fixture directories under root (those holding expected.safetensors), sorted.
std::vector<std::string> findHfFixtures(const std::string& root);

// Runs every check of one fixture: causal LMs prefill, a ragged right-padded prefill continued
// token by token, a half prefill continued through the KV cache, and both padded batches (each row
// alone, and Rudder's ragged path); reward models the padded batch's scores.  tolerance <= 0 means
// parityTolerance(dtype).  Throws rudder::Error for an unreadable fixture.
ParityResult checkHfFixture(const std::string& dir, const std::string& device = "cpu",
                            const std::string& dtype = "fp32", double tolerance = 0);

} // namespace rudder
