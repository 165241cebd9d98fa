// Helper for the crash test: appends fake iterations to a new run in a session, printing
// "run ID" once and "iter K" after each committed iteration, until killed or done.
//   session_writer DB ITERATIONS SAMPLES_PER_ITERATION SEED
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "fake_method.h"
#include "rudder/session_db.h"

int main(int argc, char** argv)
{
    if (argc != 5) {
        std::fprintf(stderr, "usage: session_writer DB ITERATIONS SAMPLES SEED\n");
        return 2;
    }
    try {
        int n = std::atoi(argv[2]), k = std::atoi(argv[3]);
        uint64_t seed = std::strtoull(argv[4], nullptr, 10);
        auto db = rudder::SessionDb::open(argv[1]);
        rudder::RunInfo info;
        info.method = "fake";
        info.seed = seed;
        info.config = {{"samples", k}, {"iterations", n}};
        int64_t run = db.createRun(info);
        db.addPrompt(run, 0, "Write a verse.");
        std::printf("run %lld\n", static_cast<long long>(run));
        std::fflush(stdout);
        double u = 0;
        for (int it = 0; it < n; ++it) {
            rudder::IterationEvent e = fake::iteration(seed, it, k, u);
            u = e.stats["u_next"].get<double>();
            db.appendIteration(run, e);
            std::printf("iter %d\n", it);
            std::fflush(stdout);
        }
        db.finishRun(run, rudder::RunStatus::Done, "", {});
    } catch (const std::exception& e) {
        std::fprintf(stderr, "session_writer: %s\n", e.what());
        return 1;
    }
    return 0;
}
