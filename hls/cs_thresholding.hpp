// cs_thresholding.hpp -- multi-threshold activation (FINN Thresholding / MultiThreshold),
// one frame of WORDS words per call, PE channels per word.
//
// y[c] = ACT_BIAS + count(t : x[c] >= thresholds[cf][p][t]) for channel c = cf*PE + p,
// truncated to OUT_BITS; bit-exact with rtl/cs_thresholding.sv and
// codesign.kernels.thresholding.multithreshold. Words cycle through the channel folds
// cf = 0..C/PE-1 (one pixel per C/PE words). Thresholds have the input's signedness and
// THR_BITS bits (IN_BITS + 1 holds every useful one, codesign.backends.words
// .clip_thresholds); their order does not matter (a count, not a search: cs::activate,
// the activation of cs::mvau and cs::vvau).
#ifndef CS_THRESHOLDING_HPP
#define CS_THRESHOLDING_HPP

#include <ap_int.h>
#include <hls_stream.h>

#include "cs_common.hpp"
#include "cs_datapath.hpp"

namespace cs {

template <int C, int PE, int WORDS, int IN_BITS, bool IN_SIGNED, int N_THRES, int THR_BITS,
          int ACT_BIAS, int OUT_BITS>
void thresholding(hls::stream<ap_uint<tdata_bits(PE * IN_BITS)>>& in,
                  hls::stream<ap_uint<tdata_bits(PE * OUT_BITS)>>& out,
                  const typename rom<THR_BITS, IN_SIGNED>::type thresholds[C / PE][PE]
                                                                          [N_THRES]) {
  static_assert(C % PE == 0, "PE must divide C");
  static_assert(WORDS % (C / PE) == 0, "a frame holds whole pixels");
  constexpr int CF = C / PE;
  typedef ap_uint<tdata_bits(PE * OUT_BITS)> out_word;
  typedef typename elem<THR_BITS, IN_SIGNED>::type thr_t;
  int cf = 0;
  for (int i = 0; i < WORDS; i++) {
#pragma HLS PIPELINE II=1
    const ap_uint<tdata_bits(PE * IN_BITS)> x = in.read();
    out_word y = 0;
    for (int p = 0; p < PE; p++) {
#pragma HLS UNROLL
      activate<OUT_BITS, N_THRES, ACT_BIAS, thr_t>(y, p, get<IN_BITS, IN_SIGNED>(x, p),
                                                   thresholds, cf);
    }
    out.write(y);
    cf = (cf == CF - 1) ? 0 : cf + 1;
  }
}

}  // namespace cs

#endif
