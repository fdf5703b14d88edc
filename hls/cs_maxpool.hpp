// cs::maxpool -- max pooling behind a depthwise sliding window (FINN Pool, Function
// MaxPool), PE channels per word; the C++ twin of rtl/cs_maxpool.sv, bit-exact with
// codesign.kernels.pool.max_pool_stream.
//
// Template parameters
//   PE          channels per word
//   K2          window elements (kh*kw): every K2 input words reduce to one output word
//   ELEM_BITS   element width; SIGNED: elements are two's complement
//   OUT_WORDS   output words per frame (the instance's words_out; the RTL kernel runs
//               on an unbounded stream and needs no frame size)
// Streams: in0 OUT_WORDS*K2 words (the depthwise SWG's (C/PE, kh*kw, PE) per output
// pixel), out0 OUT_WORDS words, lane p the maximum of the K2 words' lane p (NHWC).
#ifndef CS_MAXPOOL_HPP
#define CS_MAXPOOL_HPP

#include <ap_int.h>
#include <hls_stream.h>

#include "cs_common.hpp"

namespace cs {

template <int PE, int K2, int ELEM_BITS, bool SIGNED, int OUT_WORDS>
void maxpool(hls::stream<ap_uint<tdata_bits(PE * ELEM_BITS)>>& in0,
             hls::stream<ap_uint<tdata_bits(PE * ELEM_BITS)>>& out0) {
  static_assert(K2 >= 1 && PE >= 1, "a window has elements, a word lanes");
  constexpr int WB = tdata_bits(PE * ELEM_BITS);
  typedef typename elem<ELEM_BITS, SIGNED>::type elem_t;

  elem_t run[PE];
#pragma HLS ARRAY_PARTITION variable=run complete dim=1

  for (int o = 0; o < OUT_WORDS; ++o) {
    for (int k = 0; k < K2; ++k) {
#pragma HLS PIPELINE II=1
      const ap_uint<WB> w = in0.read();
      ap_uint<WB> y = 0;
      for (int p = 0; p < PE; ++p) {
#pragma HLS UNROLL
        const elem_t v = cs::get<ELEM_BITS, SIGNED>(w, p);
        const elem_t m = (k == 0 || v > run[p]) ? v : run[p];
        run[p] = m;
        cs::set<ELEM_BITS>(y, p, m);
      }
      if (k == K2 - 1) out0.write(y);
    }
  }
}

}  // namespace cs

#endif
