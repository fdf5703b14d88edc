// cs_dwc.hpp -- stream data-width converter: IN_WORDS words of IN_ELEMS elements in,
// OUT_WORDS words of OUT_ELEMS elements out per frame, element order preserved (element 0
// in the LSBs, first word first), any ratio. Bit-exact with rtl/cs_dwc.sv and
// codesign.kernels.dwc.dwc (pad bits of the output zero, of the input ignored).
//
// An element buffer holds `cnt` valid elements in its low end; each step emits the low
// OUT_ELEMS when it holds them and takes a word when it has room for IN_ELEMS more, so
// one word per step moves on the narrower side (the loop ends when the frame is done).
#ifndef CS_DWC_HPP
#define CS_DWC_HPP

#include <ap_int.h>
#include <hls_stream.h>

#include "cs_common.hpp"

namespace cs {

template <int IN_ELEMS, int OUT_ELEMS, int ELEM_BITS, int IN_WORDS, int OUT_WORDS>
void dwc(hls::stream<ap_uint<tdata_bits(IN_ELEMS * ELEM_BITS)>>& in,
         hls::stream<ap_uint<tdata_bits(OUT_ELEMS * ELEM_BITS)>>& out) {
  static_assert(IN_WORDS * IN_ELEMS == OUT_WORDS * OUT_ELEMS,
                "a frame has the same elements on both sides");
  // elements: a word is taken while at most OUT_ELEMS remain after this step's output,
  // and a step without output holds fewer than OUT_ELEMS, so every step moves a word
  constexpr int BUF = IN_ELEMS + OUT_ELEMS;
  constexpr int IW = IN_ELEMS * ELEM_BITS;
  constexpr int OW = OUT_ELEMS * ELEM_BITS;
  ap_uint<BUF * ELEM_BITS> buf = 0;
  int cnt = 0;
  int taken = 0;
  int given = 0;
  for (int step = 0; step < IN_WORDS + OUT_WORDS; step++) {
#pragma HLS PIPELINE II=1
    if (taken == IN_WORDS && given == OUT_WORDS) break;
    const bool give = cnt >= OUT_ELEMS;
    if (give) {
      ap_uint<tdata_bits(OW)> y = 0;
      y.range(OW - 1, 0) = buf.range(OW - 1, 0);
      out.write(y);
      buf >>= OW;
      cnt -= OUT_ELEMS;
      given++;
    }
    if (taken < IN_WORDS && cnt + IN_ELEMS <= BUF) {
      const ap_uint<tdata_bits(IW)> x = in.read();
      ap_uint<BUF * ELEM_BITS> wide = 0;
      wide.range(IW - 1, 0) = x.range(IW - 1, 0);
      buf |= wide << (cnt * ELEM_BITS);
      cnt += IN_ELEMS;
      taken++;
    }
  }
}

}  // namespace cs

#endif
