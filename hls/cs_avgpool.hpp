// cs::avgpool -- quantized average pooling behind a depthwise sliding window (FINN Pool,
// Function QuantAvgPool), PE channels per word; the C++ twin of rtl/cs_avgpool.sv,
// bit-exact with codesign.dataflow.kernels.pool.avg_pool_stream.
//
// Template parameters
//   PE          channels per word
//   K2          window elements (kh*kw): every K2 input words reduce to one output word
//   ELEM_BITS   input element width; SIGNED: elements (and outputs) are two's complement
//   SHIFT       right shift of the exact window sum (arithmetic: floor)
//   OUT_BITS    output element width (the shifted sum's low bits; the lowering refuses
//               nodes whose shifted sums do not fit)
//   OUT_WORDS   output words per frame (the instance's words_out)
// Streams: in0 OUT_WORDS*K2 words (the depthwise SWG's (C/PE, kh*kw, PE) per output
// pixel), out0 OUT_WORDS words (NHWC).
#ifndef CS_AVGPOOL_HPP
#define CS_AVGPOOL_HPP

#include <ap_int.h>
#include <hls_stream.h>

#include "cs_common.hpp"

namespace cs {

template <int PE, int K2, int ELEM_BITS, bool SIGNED, int SHIFT, int OUT_BITS, int OUT_WORDS>
void avgpool(hls::stream<ap_uint<tdata_bits(PE * ELEM_BITS)>>& in0,
             hls::stream<ap_uint<tdata_bits(PE * OUT_BITS)>>& out0) {
  static_assert(K2 >= 1 && PE >= 1, "a window has elements, a word lanes");
  constexpr int IW = tdata_bits(PE * ELEM_BITS);
  constexpr int OW = tdata_bits(PE * OUT_BITS);
  // exact window sum, signed: K2 elements of ELEM_BITS, zero- or sign-extended
  constexpr int SW = ELEM_BITS + clog2(K2) + 1;
  typedef ap_int<SW> sum_t;

  sum_t run[PE];
#pragma HLS ARRAY_PARTITION variable=run complete dim=1

  for (int o = 0; o < OUT_WORDS; ++o) {
    for (int k = 0; k < K2; ++k) {
#pragma HLS PIPELINE II=1
      const ap_uint<IW> w = in0.read();
      ap_uint<OW> y = 0;
      for (int p = 0; p < PE; ++p) {
#pragma HLS UNROLL
        const sum_t v = cs::get<ELEM_BITS, SIGNED>(w, p);
        const sum_t s = (k == 0 ? sum_t(0) : run[p]) + v;
        run[p] = s;
        cs::set<OUT_BITS>(y, p, s >> SHIFT);  // ap_int >>: arithmetic
      }
      if (k == K2 - 1) out0.write(y);
    }
  }
}

}  // namespace cs

#endif
