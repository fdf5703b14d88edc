// cs::global_acc_pool -- per-channel sum over every pixel of a frame (FINN GlobalAccPool,
// the sum of a GlobalAveragePool), PE channels per word; the C++ twin of
// rtl/cs_global_acc_pool.sv, bit-exact with
// codesign.dataflow.kernels.global_acc_pool.global_acc_pool.
//
// Template parameters
//   PE         channels per word
//   NF         channel folds (channels / PE): words per pixel
//   PIXELS     pixels per frame (H*W)
//   IN_BITS    input element width; SIGNED: elements (and sums) are two's complement
//   OUT_BITS   sum width (FINN's output type: holds every sum)
// Streams: in0 PIXELS*NF words (NHWC), out0 NF words, lane p of word f the sum of
// channel f*PE+p. One input word per iteration; the last pixel's words go out as they
// complete (one frame per call).
#ifndef CS_GLOBAL_ACC_POOL_HPP
#define CS_GLOBAL_ACC_POOL_HPP

#include <ap_int.h>
#include <hls_stream.h>

#include "cs_common.hpp"

namespace cs {

template <int PE, int NF, int PIXELS, int IN_BITS, bool SIGNED, int OUT_BITS>
void global_acc_pool(hls::stream<ap_uint<tdata_bits(PE * IN_BITS)>>& in0,
                     hls::stream<ap_uint<tdata_bits(PE * OUT_BITS)>>& out0) {
  static_assert(PE >= 1 && NF >= 1 && PIXELS >= 1, "a frame has pixels, a word lanes");
  constexpr int IW = tdata_bits(PE * IN_BITS);
  constexpr int OW = tdata_bits(PE * OUT_BITS);
  typedef typename elem<IN_BITS, SIGNED>::type in_t;
  typedef typename elem<OUT_BITS, SIGNED>::type sum_t;

  // running sums, one entry per channel fold (a memory of NF words of PE lanes)
  sum_t acc[NF][PE];
#pragma HLS ARRAY_PARTITION variable=acc complete dim=2

  for (int px = 0; px < PIXELS; ++px) {
    for (int f = 0; f < NF; ++f) {
#pragma HLS PIPELINE II=1
      const ap_uint<IW> w = in0.read();
      ap_uint<OW> y = 0;
      for (int p = 0; p < PE; ++p) {
#pragma HLS UNROLL
        const in_t v = cs::get<IN_BITS, SIGNED>(w, p);
        const sum_t s = (px == 0 ? sum_t(0) : acc[f][p]) + sum_t(v);
        acc[f][p] = s;
        cs::set<OUT_BITS>(y, p, s);
      }
      if (px == PIXELS - 1) out0.write(y);
    }
  }
}

}  // namespace cs

#endif
