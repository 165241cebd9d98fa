// Tokenizer benchmark (not a test): load time, encode and decode throughput on a text file,
// one thread.  scripts/bench-tokenizer.sh runs it on the KJV Bible beside Hugging Face's
// `tokenizers` (tests/reference/bench.js).
//   bench_tokenizer TOKENIZER_DIR TEXT_FILE [REPEATS]
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "rudder/tokenizer.h"

namespace {

double seconds(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b)
{
    return std::chrono::duration<double>(b - a).count();
}

} // namespace

int main(int argc, char** argv)
{
    if (argc < 3) {
        std::cerr << "usage: bench_tokenizer TOKENIZER_DIR TEXT_FILE [REPEATS]\n";
        return 2;
    }
    int repeats = argc > 3 ? std::max(1, std::atoi(argv[3])) : 3;
    std::ifstream f(argv[2], std::ios::binary);
    if (!f) {
        std::cerr << "bench_tokenizer: cannot open " << argv[2] << "\n";
        return 2;
    }
    std::stringstream ss;
    ss << f.rdbuf();
    const std::string text = ss.str();
    const double mb = double(text.size()) / 1e6;
    try {
        auto t0 = std::chrono::steady_clock::now();
        auto tok = rudder::Tokenizer::fromDirectory(argv[1]);
        auto t1 = std::chrono::steady_clock::now();
        std::vector<int32_t> ids;
        double best = 1e30, first = 0;
        for (int r = 0; r < repeats; ++r) {
            // A fresh tokenizer each time except the first: the word cache must not carry over.
            if (r > 0) tok = rudder::Tokenizer::fromDirectory(argv[1]);
            auto a = std::chrono::steady_clock::now();
            ids = tok->encode(text, false);
            auto b = std::chrono::steady_clock::now();
            best = std::min(best, seconds(a, b));
            if (r == 0) first = seconds(a, b);
        }
        auto d0 = std::chrono::steady_clock::now();
        std::string back = tok->decode(ids, false);
        auto d1 = std::chrono::steady_clock::now();
        uint32_t check = 0;
        for (size_t i = 0; i < ids.size(); ++i) check = check * 31u + uint32_t(ids[i]);
        std::printf("rudder  %-8s load %.3f s  encode %.3f s (best of %d; first %.3f s) = %.2f MB/s  "
                    "%zu tokens  checksum %08x  decode %.2f MB/s  roundtrip %s\n",
                    tok->type() == "byte-level BPE" ? "bytelvl" : "spm", seconds(t0, t1), best, repeats, first,
                    mb / best, ids.size(), check, mb / seconds(d0, d1), back == text ? "exact" : "DIFFERS");
    } catch (const std::exception& e) {
        std::cerr << "bench_tokenizer: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
