// cs::elementwise_add -- elementwise sum of two streams (FINN ElementwiseAdd with two
// streamed operands of one shape: the join of a residual block); the C++ twin of
// rtl/cs_elementwise_add.sv, bit-exact with
// codesign.kernels.elementwise_add.elementwise_add.
//
// Template parameters
//   PE                     elements per word, on all three streams
//   LHS_BITS, LHS_SIGNED   lhs element width and signedness (in0)
//   RHS_BITS, RHS_SIGNED   rhs element width and signedness (in1)
//   OUT_BITS, OUT_SIGNED   output element width (the exact sum wraps to it) and
//                          signedness (the bit pattern is the same either way)
//   WORDS                  words per frame on every stream
// One word of each input and one output word per iteration.
#ifndef CS_ELEMENTWISE_ADD_HPP
#define CS_ELEMENTWISE_ADD_HPP

#include <ap_int.h>
#include <hls_stream.h>

#include "cs_common.hpp"

namespace cs {

template <int PE, int LHS_BITS, bool LHS_SIGNED, int RHS_BITS, bool RHS_SIGNED, int OUT_BITS,
          bool OUT_SIGNED, int WORDS>
void elementwise_add(hls::stream<ap_uint<tdata_bits(PE * LHS_BITS)>>& in0,
                     hls::stream<ap_uint<tdata_bits(PE * RHS_BITS)>>& in1,
                     hls::stream<ap_uint<tdata_bits(PE * OUT_BITS)>>& out0) {
  constexpr int AW = tdata_bits(PE * LHS_BITS);
  constexpr int BW = tdata_bits(PE * RHS_BITS);
  constexpr int OW = tdata_bits(PE * OUT_BITS);
  // wide enough for any sum of the two operands, signed
  constexpr int SW = (LHS_BITS > RHS_BITS ? LHS_BITS : RHS_BITS) + 2;
  typedef typename elem<LHS_BITS, LHS_SIGNED>::type lhs_t;
  typedef typename elem<RHS_BITS, RHS_SIGNED>::type rhs_t;
  typedef typename elem<OUT_BITS, OUT_SIGNED>::type out_t;

  for (int i = 0; i < WORDS; ++i) {
#pragma HLS PIPELINE II=1
    const ap_uint<AW> a = in0.read();
    const ap_uint<BW> b = in1.read();
    ap_uint<OW> y = 0;
    for (int p = 0; p < PE; ++p) {
#pragma HLS UNROLL
      const lhs_t av = cs::get<LHS_BITS, LHS_SIGNED>(a, p);
      const rhs_t bv = cs::get<RHS_BITS, RHS_SIGNED>(b, p);
      const ap_int<SW> s = ap_int<SW>(av) + ap_int<SW>(bv);
      cs::set<OUT_BITS>(y, p, out_t(s));  // sign-extends or wraps to OUT_BITS
    }
    out0.write(y);
  }
}

}  // namespace cs

#endif
