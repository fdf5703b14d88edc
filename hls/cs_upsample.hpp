// cs::upsample -- nearest-neighbour upsampling of an NHWC feature map by integer scales
// (FINN UpsampleNearestNeighbour), SIMD channels per word; the C++ twin of
// rtl/cs_upsample.sv, bit-exact with codesign.dataflow.kernels.upsample.upsample_nn.
//
// Template parameters (as cs_upsample's, then the frame height)
//   IMG_W          input feature map width (pixels)
//   C, SIMD        channels and channels per word; CF = C/SIMD words per pixel
//   SCALE_H        times each input row is emitted (HO/HI)
//   SCALE_W        times each input pixel is emitted within a row (WO/WI)
//   ELEM_BITS      element width
//   IMG_H          input rows per frame (the RTL kernel needs no frame height)
// Streams: in0 IMG_H*IMG_W*CF words per frame, out0 IMG_H*SCALE_H*IMG_W*SCALE_W*CF
// words, NHWC, pad bits zero. The first copy of each pixel reads in0 and goes into a
// one-row buffer, the others read the buffer. One frame per call, one output word per
// iteration.
#ifndef CS_UPSAMPLE_HPP
#define CS_UPSAMPLE_HPP

#include <ap_int.h>
#include <hls_stream.h>

#include "cs_common.hpp"

namespace cs {

template <int IMG_W, int C, int SIMD, int SCALE_H, int SCALE_W, int ELEM_BITS, int IMG_H>
void upsample(hls::stream<ap_uint<tdata_bits(SIMD * ELEM_BITS)>>& in0,
              hls::stream<ap_uint<tdata_bits(SIMD * ELEM_BITS)>>& out0) {
  static_assert(C % SIMD == 0, "SIMD must divide C");
  static_assert(SCALE_H >= 1 && SCALE_W >= 1, "scales are at least 1");
  constexpr int PW = SIMD * ELEM_BITS;
  constexpr int WB = tdata_bits(PW);
  constexpr int CF = C / SIMD;

  ap_uint<PW> row[IMG_W * CF];

  for (int y = 0; y < IMG_H; ++y) {
    for (int ry = 0; ry < SCALE_H; ++ry) {
      for (int x = 0; x < IMG_W; ++x) {
        for (int rx = 0; rx < SCALE_W; ++rx) {
          for (int f = 0; f < CF; ++f) {
#pragma HLS PIPELINE II=1
            const int a = x * CF + f;
            ap_uint<PW> v;
            if (ry == 0 && rx == 0) {
              const ap_uint<WB> w = in0.read();
              v = w.range(PW - 1, 0);  // pad bits dropped
              row[a] = v;
            } else {
              v = row[a];
            }
            out0.write(ap_uint<WB>(v));
          }
        }
      }
    }
  }
}

}  // namespace cs

#endif
