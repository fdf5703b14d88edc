// cs::fmpadding -- zero padding of an NHWC feature map (FINN FMPadding), SIMD channels
// per word; the C++ twin of rtl/cs_fmpadding.sv, bit-exact with
// codesign.kernels.fmpadding.fm_padding.
//
// Template parameters (as cs_fmpadding's)
//   IMG_H, IMG_W   input feature map height and width (pixels)
//   C, SIMD        channels and channels per word; CF = C/SIMD words per pixel
//   PAD_T, PAD_L, PAD_B, PAD_R  zero pixels above, left, below, right (FINN's Padding)
//   ELEM_BITS      element width
// Streams: in0 IMG_H*IMG_W*CF words per frame, out0 (IMG_H+PAD_T+PAD_B) *
// (IMG_W+PAD_L+PAD_R) * CF words, NHWC, padding words zero. One frame per call, one
// output word per iteration.
#ifndef CS_FMPADDING_HPP
#define CS_FMPADDING_HPP

#include <ap_int.h>
#include <hls_stream.h>

#include "cs_common.hpp"

namespace cs {

template <int IMG_H, int IMG_W, int C, int SIMD, int PAD_T, int PAD_L, int PAD_B,
          int PAD_R, int ELEM_BITS>
void fmpadding(hls::stream<ap_uint<tdata_bits(SIMD * ELEM_BITS)>>& in0,
               hls::stream<ap_uint<tdata_bits(SIMD * ELEM_BITS)>>& out0) {
  static_assert(C % SIMD == 0, "SIMD must divide C");
  static_assert(PAD_T >= 0 && PAD_L >= 0 && PAD_B >= 0 && PAD_R >= 0,
                "padding is non-negative");
  constexpr int PW = SIMD * ELEM_BITS;
  constexpr int WB = tdata_bits(PW);
  constexpr int CF = C / SIMD;
  constexpr int OUT_H = IMG_H + PAD_T + PAD_B;
  constexpr int OUT_W = IMG_W + PAD_L + PAD_R;

  for (int y = 0; y < OUT_H; ++y) {
    for (int x = 0; x < OUT_W; ++x) {
      for (int f = 0; f < CF; ++f) {
#pragma HLS PIPELINE II=1
        const bool inside =
            y >= PAD_T && y < PAD_T + IMG_H && x >= PAD_L && x < PAD_L + IMG_W;
        ap_uint<WB> w = 0;
        if (inside) {
          const ap_uint<WB> v = in0.read();
          w = v.range(PW - 1, 0);  // pad bits zero
        }
        out0.write(w);
      }
    }
  }
}

}  // namespace cs

#endif
