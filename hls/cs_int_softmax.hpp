// cs::int_softmax -- the integer softmax over rows of N scores; the C++ twin of
// rtl/cs_int_softmax.sv, bit-exact with codesign.attention.int_softmax.
//
// Per row: m = max(s); e_j = lut[min(m - s_j, LUT_LEN - 1)]; sum = sum_j e_j;
// r = floor(2^RECIP_BITS / sum); a_j = min((e_j * r) >> (RECIP_BITS - OUT_BITS),
// 2^OUT_BITS - 1).
//
// Template parameters
//   N, ROWS                scores per row, rows per frame
//   PE                     scores per word (divides N)
//   IN_BITS, IN_SIGNED     score type
//   EXP_BITS               E: lut[0] = 2^E (entries of E + 1 bits)
//   OUT_BITS, RECIP_BITS   F and R
//   LUT_LEN                entries of the exponential table
// One frame (ROWS rows) per call.
#ifndef CS_INT_SOFTMAX_HPP
#define CS_INT_SOFTMAX_HPP

#include <ap_int.h>
#include <hls_stream.h>

#include "cs_common.hpp"

namespace cs {

template <int N, int ROWS, int PE, int IN_BITS, bool IN_SIGNED, int EXP_BITS, int OUT_BITS,
          int RECIP_BITS, int LUT_LEN>
void int_softmax(hls::stream<ap_uint<tdata_bits(PE * IN_BITS)>>& in0,
                 hls::stream<ap_uint<tdata_bits(PE * OUT_BITS)>>& out0,
                 const typename rom<EXP_BITS + 1, false>::type lut[LUT_LEN]) {
  constexpr int SW = IN_BITS + 1;  // scores and their differences, signed
  constexpr int EW = EXP_BITS + 1;
  constexpr int SUMW = EXP_BITS + 1 + 16;  // N <= 2^16 scores a row
  constexpr int QW = RECIP_BITS - EXP_BITS + 1;
  typedef typename elem<IN_BITS, IN_SIGNED>::type in_t;

  for (int row = 0; row < ROWS; ++row) {
    ap_int<SW> s[N];
    ap_uint<EW> e[N];
    ap_int<SW> m = 0;
    for (int w = 0; w < N / PE; ++w) {
      const ap_uint<tdata_bits(PE * IN_BITS)> word = in0.read();
      for (int p = 0; p < PE; ++p) {
        const ap_int<SW> v = ap_int<SW>(in_t(cs::get<IN_BITS, IN_SIGNED>(word, p)));
        s[w * PE + p] = v;
        if ((w == 0 && p == 0) || v > m) m = v;
      }
    }
    ap_uint<SUMW> sum = 0;
    for (int j = 0; j < N; ++j) {
      const ap_int<SW + 1> diff = ap_int<SW + 1>(m) - ap_int<SW + 1>(s[j]);  // >= 0
      const int idx = diff > ap_int<SW + 1>(LUT_LEN - 1) ? LUT_LEN - 1 : int(diff);
      e[j] = ap_uint<EW>(lut[idx]);
      sum += e[j];
    }
    const ap_uint<QW> r = (ap_uint<RECIP_BITS + 1>(1) << RECIP_BITS) / sum;
    for (int w = 0; w < N / PE; ++w) {
      ap_uint<tdata_bits(PE * OUT_BITS)> y = 0;
      for (int p = 0; p < PE; ++p) {
        const ap_uint<EW + QW> a = (ap_uint<EW + QW>(e[w * PE + p]) * r) >> (RECIP_BITS - OUT_BITS);
        const ap_uint<EW + QW> top = (ap_uint<EW + QW>(1) << OUT_BITS) - 1;
        cs::set<OUT_BITS>(y, p, a > top ? top : a);
      }
      out0.write(y);
    }
  }
}

}  // namespace cs

#endif
