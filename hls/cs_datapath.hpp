// cs_datapath.hpp -- the datapath shared by cs::mvau, cs::vvau and cs::thresholding, the
// C++ side of rtl/cs_mac_lanes.sv and rtl/cs_act_tail.sv (namespace cs):
//   * mac_lane: one lane's step, SIMD products added to a wrapping accumulator;
//   * activate: one lane's activation, the multi-threshold count or the value itself.
#ifndef CS_DATAPATH_HPP
#define CS_DATAPATH_HPP

#include <ap_int.h>

#include "cs_common.hpp"

namespace cs {

// One lane's step: acc (0 when first) plus the SIMD products of the input elements
// x[s*STRIDE + OFFSET] (IN_BITS, signed iff IN_SIGNED; cs::mvau's lanes share them:
// STRIDE 1, OFFSET 0; cs::vvau's lane p has its own: STRIDE PE, OFFSET p) and the lane's
// weights w[s] (signed W_BITS). The sum wraps at ACC's width (two's complement), as the
// RTL accumulator. XNOR: FINN's binaryXnorMode, 1-bit codes of bipolar values whose
// product is XNOR(x, w): the accumulator counts the matches. USE_DSP: where the products
// go (FINN's resType, rtl/cs_mac_lanes.sv's USE_DSP): Vitis HLS binds each multiplication
// to a DSP (true) or to fabric, LUTs (false); C-simulation computes the same product.
template <int SIMD, int IN_BITS, bool IN_SIGNED, int W_BITS, bool XNOR, bool USE_DSP,
          typename ACC, int W, typename WT>
ACC mac_lane(const ACC& acc, bool first, const ap_uint<W>& x, int stride, int offset,
             const WT w[SIMD]) {
#pragma HLS INLINE
  typedef ap_int<IN_BITS + 1 + W_BITS> prod_t;  // exact: the input made signed
  ACC sum = first ? ACC(0) : acc;
  for (int s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
    const int i = s * stride + offset;
    if (XNOR) {  // a match counts 1
      sum += (get<1, false>(x, i) == ap_uint<1>(w[s])) ? 1 : 0;
    } else if (USE_DSP) {  // wraps at ACC's width
      const prod_t prod = get<IN_BITS, IN_SIGNED>(x, i) * ap_int<W_BITS>(w[s]);
#pragma HLS BIND_OP variable=prod op=mul impl=dsp
      sum += prod;
    } else {
      const prod_t prod = get<IN_BITS, IN_SIGNED>(x, i) * ap_int<W_BITS>(w[s]);
#pragma HLS BIND_OP variable=prod op=mul impl=fabric
      sum += prod;
    }
  }
  return sum;
}

// Element p of y (OUT_BITS, truncated two's complement) from value v of channel fold nf:
// N_THRES = 0: v itself; else ACT_BIAS + count(t : v >= thresholds[nf][p][t]), each
// threshold read as THR_T (the compared type: THR_BITS with v's signedness). Every
// threshold is compared (in parallel), so their order does not matter. thresholds is
// not read when N_THRES = 0 (cs::mvau_noact passes none).
template <int OUT_BITS, int N_THRES, int ACT_BIAS, typename THR_T, int W, typename V,
          typename TR, int PE, int NT>
void activate(ap_uint<W>& y, int p, const V& v, const TR (*thresholds)[PE][NT], int nf) {
#pragma HLS INLINE
  if (N_THRES > 0) {
    ap_uint<clog2(N_THRES + 1) + 1> count = 0;
    for (int t = 0; t < N_THRES; t++) {
#pragma HLS UNROLL
      count += (v >= THR_T(thresholds[nf][p][t])) ? 1 : 0;
    }
    set<OUT_BITS>(y, p, ap_int<33>(ACT_BIAS) + count);
  } else {
    set<OUT_BITS>(y, p, v);
  }
}

}  // namespace cs

#endif
