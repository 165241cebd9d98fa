// Tokenizer benchmark (not a test): load time, encode and decode throughput on a text file,
// one thread.  scripts/bench-tokenizer.sh runs it on the KJV Bible beside Hugging Face's
// `tokenizers` (tests/reference/bench.js).
//   bench_tokenizer TOKENIZER_DIR TEXT_FILE [REPEATS]
#include <chrono>
#include <ctime>
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

// Process CPU time: on a shared machine wall time mostly measures the neighbours.
double cpuSeconds() { return double(std::clock()) / CLOCKS_PER_SEC; }

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
        double c0 = cpuSeconds();
        auto tok = rudder::Tokenizer::fromDirectory(argv[1]);
        double loadCpu = cpuSeconds() - c0;
        auto t1 = std::chrono::steady_clock::now();
        std::vector<int32_t> ids;
        double best = 1e30, bestCpu = 1e30;
        for (int r = 0; r < repeats; ++r) {
            // A fresh tokenizer each time: the word cache must not carry over.
            if (r > 0) tok = rudder::Tokenizer::fromDirectory(argv[1]);
            auto a = std::chrono::steady_clock::now();
            double ca = cpuSeconds();
            ids = tok->encode(text, false);
            bestCpu = std::min(bestCpu, cpuSeconds() - ca);
            best = std::min(best, seconds(a, std::chrono::steady_clock::now()));
        }
        auto d0 = std::chrono::steady_clock::now();
        double cd = cpuSeconds();
        std::string back = tok->decode(ids, false);
        double decCpu = cpuSeconds() - cd;
        uint32_t check = 0;
        for (size_t i = 0; i < ids.size(); ++i) check = check * 31u + uint32_t(ids[i]);
        std::printf("rudder (C++)     load %6.3f s wall %6.3f s cpu | encode %6.3f s wall %6.3f s cpu = %6.2f MB/s "
                    "(cpu) | decode %6.2f MB/s (cpu) | %zu tokens, checksum %08x, roundtrip %s\n",
                    seconds(t0, t1), loadCpu, best, bestCpu, mb / bestCpu, mb / std::max(decCpu, 1e-9), ids.size(),
                    check, back == text ? "exact" : "DIFFERS");
    } catch (const std::exception& e) {
        std::cerr << "bench_tokenizer: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
