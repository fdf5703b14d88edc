// cs::ode_loop -- the Neural-ODE engine's loop: one frame through a body function
// ITERATIONS times, the frame held on chip between passes; the C++ twin of
// rtl/cs_ode_loop.sv, bit-exact with codesign.dataflow.kernels.ode_loop (the golden).
//
// Template parameters
//   WIDTH       tdata width of the body's input and output stream
//   WORDS       words per frame
//   ITERATIONS  T >= 1, passes per frame
//   Body        the body: void(hls::stream<ap_uint<WIDTH>>&, hls::stream<ap_uint<WIDTH>>&),
//               one frame in and one out per call (the generated top's body function)
// Pass 0 streams the frame from `in` into the body; every later pass streams the frame
// array written by the pass before; the last pass's output goes to `out`. The body is
// called once per pass: one body in hardware, iterated.
#ifndef CS_ODE_LOOP_HPP
#define CS_ODE_LOOP_HPP

#include <ap_int.h>
#include <hls_stream.h>

namespace cs {

template <int WIDTH, int WORDS, int ITERATIONS, typename Body>
void ode_loop(hls::stream<ap_uint<WIDTH>>& in, hls::stream<ap_uint<WIDTH>>& out, Body body) {
  static_assert(ITERATIONS >= 1, "a loop makes at least one pass");
  ap_uint<WIDTH> frame[WORDS];
  for (int t = 0; t < ITERATIONS; t++) {
    hls::stream<ap_uint<WIDTH>> to_body("to_body"), from_body("from_body");
#pragma HLS STREAM variable=to_body depth=WORDS
#pragma HLS STREAM variable=from_body depth=WORDS
    for (int i = 0; i < WORDS; i++) {
#pragma HLS PIPELINE II=1
      to_body.write(t == 0 ? in.read() : frame[i]);
    }
    body(to_body, from_body);
    for (int i = 0; i < WORDS; i++) {
#pragma HLS PIPELINE II=1
      const ap_uint<WIDTH> w = from_body.read();
      if (t == ITERATIONS - 1) {
        out.write(w);
      } else {
        frame[i] = w;
      }
    }
  }
}

}  // namespace cs

#endif
