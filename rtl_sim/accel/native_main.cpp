// Native Verilator main for cs_axis_harness: the same harness run without cocotb, to
// measure what the simulator itself can do (bench/sim_speed.py).
//
// usage: Vharness FRAMES IN_STALL OUT_STALL IN_SEED OUT_SEED WATCHDOG DRAIN MAX_CYCLES
// (stall values are the 16-bit thresholds of rtl_sim.accel.stalls). Prints one JSON
// line with the harness's counters, the simulated cycles and the wall-clock seconds.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "Vharness.h"
#include "verilated.h"

int main(int argc, char** argv) {
    if (argc != 9) {
        std::fprintf(stderr,
                     "usage: %s FRAMES IN_STALL OUT_STALL IN_SEED OUT_SEED WATCHDOG DRAIN "
                     "MAX_CYCLES\n",
                     argv[0]);
        return 2;
    }
    auto arg = [&](int i) { return std::strtoull(argv[i], nullptr, 0); };
    auto ctx = std::make_unique<VerilatedContext>();
    auto top = std::make_unique<Vharness>(ctx.get());
    top->cfg_frames = arg(1);
    top->cfg_in_stall = arg(2);
    top->cfg_out_stall = arg(3);
    top->cfg_in_seed = arg(4);
    top->cfg_out_seed = arg(5);
    top->cfg_watchdog = arg(6);
    top->cfg_drain = arg(7);
    top->cfg_frame_period = 0;  // frames back to back, paced by the stalls only
    const uint64_t max_cycles = arg(8);

    auto t0 = std::chrono::steady_clock::now();
    uint64_t n = 0;
    auto cycle = [&]() {
        top->ap_clk = 0;
        top->eval();
        top->ap_clk = 1;
        top->eval();
        ++n;
    };
    top->ap_rst_n = 0;
    for (int i = 0; i < 4; ++i) cycle();
    top->ap_rst_n = 1;
    while (!top->done && n < max_cycles) cycle();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    top->final();
    std::printf(
        "{\"done\": %d, \"timeout\": %d, \"words_in\": %u, \"words_out\": %u, "
        "\"mismatches\": %u, \"extra_words\": %u, \"cycles\": %llu, \"simulated_cycles\": %llu, "
        "\"seconds\": %.6f}\n",
        top->done, top->timeout, top->words_in, top->words_out, top->mismatches,
        top->extra_words, (unsigned long long)top->cycles, (unsigned long long)n, secs);
    return top->done && !top->timeout && top->mismatches == 0 ? 0 : 1;
}
