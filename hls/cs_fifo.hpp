// cs_fifo.hpp -- StreamingFIFO: the words of one frame passed on unchanged.
//
// The buffering itself is the hls::stream the top writes this kernel's output to: the
// kernel's HlsCall.depth (codesign.kernels.fifo) makes the top declare that stream with
// `#pragma HLS STREAM depth=DEPTH`, so Vitis HLS builds the FIFO of the sized depth there
// (what FINN's StreamingFIFO is in a stitched design). Keeping a kernel call -- rather
// than dropping the node and moving its depth onto the edge -- keeps one call per graph
// node, the same stream names as the RTL top, and a per-kernel unit test. In C-simulation
// streams are unbounded, so depth never changes a result there.
#ifndef CS_FIFO_HPP
#define CS_FIFO_HPP

#include <ap_int.h>
#include <hls_stream.h>

namespace cs {

template <int WIDTH, int DEPTH, int WORDS>
void fifo(hls::stream<ap_uint<WIDTH>>& in, hls::stream<ap_uint<WIDTH>>& out) {
  static_assert(DEPTH >= 2, "FIFO depth of at least 2 words");
  for (int i = 0; i < WORDS; i++) {
#pragma HLS PIPELINE II=1
    out.write(in.read());
  }
}

}  // namespace cs

#endif
