// cs::swg -- sliding-window generator (FINN ConvolutionInputGenerator: im2col over an
// NHWC stream, no padding, dilation 1), SIMD channels per word; the C++ twin of
// rtl/cs_swg.sv, bit-exact with codesign.kernels.swg.sliding_window.
//
// Template parameters (as cs_swg's)
//   IFM_H, IFM_W   input feature map height and width (pixels)
//   C, SIMD        channels and channels per word; CF = C/SIMD words per pixel
//   K_H, K_W       kernel height and width; S_H, S_W stride
//   DEPTHWISE      output order per window: 0 = (kh, kw, cf) words (FINN's Im2Col),
//                  1 = (cf, kh, kw) words (channel-fold-major, for the VVAU and Pool)
//   ELEM_BITS      element width
// Streams: in0 IFM_H*IFM_W*CF words per frame (NHWC), out0 for each output pixel
// (row-major) its K_H*K_W*CF window words; SIMD elements per word, pad bits zero out.
//
// One frame per call. Each input word is written once into a circular buffer of DEPTH
// words (the window span plus (S_H-1) rows and S_W pixels, as in cs_swg); `lead` counts
// the words written beyond the current window's first. Per iteration (II=1) the kernel
// issues the next window word when it has been written (off < lead) and reads the next
// input word when it overwrites nothing the current window still needs (lead < DEPTH):
// the two touch different buffer words, so the buffer needs one read and one write port.
#ifndef CS_SWG_HPP
#define CS_SWG_HPP

#include <ap_int.h>
#include <hls_stream.h>

#include "cs_common.hpp"

namespace cs {

template <int IFM_H, int IFM_W, int C, int SIMD, int K_H, int K_W, int S_H, int S_W,
          int DEPTHWISE, int ELEM_BITS>
void swg(hls::stream<ap_uint<tdata_bits(SIMD * ELEM_BITS)>>& in0,
         hls::stream<ap_uint<tdata_bits(SIMD * ELEM_BITS)>>& out0) {
  static_assert(C % SIMD == 0, "SIMD must divide C");
  static_assert(K_H <= IFM_H && K_W <= IFM_W, "the kernel must fit the input");
  static_assert(S_H >= 1 && S_W >= 1, "strides are at least 1");
  constexpr int PW = SIMD * ELEM_BITS;
  constexpr int WB = tdata_bits(PW);
  constexpr int CF = C / SIMD;
  constexpr int OFM_H = (IFM_H - K_H) / S_H + 1;
  constexpr int OFM_W = (IFM_W - K_W) / S_W + 1;
  constexpr int ROW = IFM_W * CF;
  constexpr int WIN = ((K_H - 1) * IFM_W + K_W) * CF;
  constexpr int DEPTH = WIN + (S_H - 1) * ROW + S_W * CF;
  constexpr int IN_WORDS = IFM_H * IFM_W * CF;
  constexpr int OUT_WORDS = OFM_H * OFM_W * K_H * K_W * CF;
  // window words as three nested counters (inner c0, middle c1, outer c2) and the offset
  // step taken when one advances and the ones inside it wrap
  constexpr int N0 = DEPTHWISE ? K_W : K_W * CF;
  constexpr int N1 = K_H;
  constexpr int N2 = DEPTHWISE ? CF : 1;
  constexpr int STEP0 = DEPTHWISE ? CF : 1;
  constexpr int STEP1 = ROW - (N0 - 1) * STEP0;
  constexpr int STEP2 = 1 - (K_H - 1) * ROW - (K_W - 1) * CF;
  // first-word distance to the next window: along a row, to the next row
  constexpr int DX = S_W * CF;
  constexpr int DY = (S_H * IFM_W - (OFM_W - 1) * S_W) * CF;
  static_assert(DX < DEPTH && DY < DEPTH, "window steps stay inside the buffer");

  ap_uint<PW> buf[DEPTH];
#pragma HLS BIND_STORAGE variable=buf type=ram_2p
#pragma HLS DEPENDENCE variable=buf inter false

  int nread = 0, nout = 0;
  int lead = 0;  // input words written beyond the current window's first word
  int wa = 0;    // buffer address of the next input word
  int sa = 0;    // buffer address of the current window's first word
  int off = 0;   // offset of the next window word from the window's first word
  int c0 = 0, c1 = 0, c2 = 0, ox = 0;

  while (nread < IN_WORDS || nout < OUT_WORDS) {
#pragma HLS PIPELINE II=1
    const bool issue = nout < OUT_WORDS && off < lead;
    const bool wr = nread < IN_WORDS && lead < DEPTH;
    if (issue) {
      const int ra = sa + off < DEPTH ? sa + off : sa + off - DEPTH;
      out0.write(ap_uint<WB>(buf[ra]));
      ++nout;
      if (c0 != N0 - 1) {
        ++c0;
        off += STEP0;
      } else if (c1 != N1 - 1) {
        c0 = 0;
        ++c1;
        off += STEP1;
      } else if (c2 != N2 - 1) {
        c0 = 0;
        c1 = 0;
        ++c2;
        off += STEP2;
      } else {  // the window is done: the next one starts DX or DY words on
        c0 = 0;
        c1 = 0;
        c2 = 0;
        off = 0;
        const int delta = ox != OFM_W - 1 ? DX : DY;
        ox = ox != OFM_W - 1 ? ox + 1 : 0;
        lead -= delta;
        sa = sa + delta < DEPTH ? sa + delta : sa + delta - DEPTH;
      }
    }
    if (wr) {
      const ap_uint<WB> w = in0.read();
      buf[wa] = w.range(PW - 1, 0);
      wa = wa != DEPTH - 1 ? wa + 1 : 0;
      ++nread;
      ++lead;
    }
  }
}

}  // namespace cs

#endif
