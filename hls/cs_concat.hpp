// cs::concat -- channel concatenation of 1..4 streams (FINN StreamingConcat: a Concat on
// the last axis of NHWC tensors); the C++ twin of rtl/cs_concat.sv, bit-exact with
// codesign.kernels._channels.concat_channels.
//
// Template parameters
//   SIMD            elements per word, on every stream
//   OUT_BITS        output element width, >= every input's
//   PIXELS          pixels per frame
//   F<i>            words of input i per pixel (ChannelsPerStream[i] / SIMD)
//   B<i>, S<i>      element width and signedness of input i: each element is sign- or
//                   zero-extended to OUT_BITS (its value is kept)
// Streams: in0 .. in{N-1}, then out0: one overload per input count N (the number of
// streams the call passes). One output word per iteration, read from the input whose
// turn it is: per pixel F0 words of in0, then F1 of in1, ...
#ifndef CS_CONCAT_HPP
#define CS_CONCAT_HPP

#include <ap_int.h>
#include <hls_stream.h>

#include "cs_common.hpp"

namespace cs {
namespace detail {

// a word of SIMD B-bit elements as SIMD OUT_BITS-bit elements of the same values
template <int SIMD, int B, bool S, int OUT_BITS>
ap_uint<tdata_bits(SIMD * OUT_BITS)> widen(const ap_uint<tdata_bits(SIMD * B)>& w) {
#pragma HLS INLINE
  ap_uint<tdata_bits(SIMD * OUT_BITS)> y = 0;
  for (int p = 0; p < SIMD; ++p) {
#pragma HLS UNROLL
    // sign- or zero-extended to OUT_BITS: the value is kept
    const typename elem<OUT_BITS, S>::type v = cs::get<B, S>(w, p);
    cs::set<OUT_BITS>(y, p, v);
  }
  return y;
}

}  // namespace detail

template <int SIMD, int OUT_BITS, int PIXELS, int F0, int B0, bool S0>
void concat(hls::stream<ap_uint<tdata_bits(SIMD * B0)>>& in0,
            hls::stream<ap_uint<tdata_bits(SIMD * OUT_BITS)>>& out0) {
  for (int i = 0; i < PIXELS * F0; ++i) {
#pragma HLS PIPELINE II=1
    out0.write(detail::widen<SIMD, B0, S0, OUT_BITS>(in0.read()));
  }
}

template <int SIMD, int OUT_BITS, int PIXELS, int F0, int B0, bool S0, int F1, int B1, bool S1>
void concat(hls::stream<ap_uint<tdata_bits(SIMD * B0)>>& in0,
            hls::stream<ap_uint<tdata_bits(SIMD * B1)>>& in1,
            hls::stream<ap_uint<tdata_bits(SIMD * OUT_BITS)>>& out0) {
  constexpr int TURNS = F0 + F1;
  int j = 0;  // word of the pixel
  for (int i = 0; i < PIXELS * TURNS; ++i) {
#pragma HLS PIPELINE II=1
    if (j < F0) {
      out0.write(detail::widen<SIMD, B0, S0, OUT_BITS>(in0.read()));
    } else {
      out0.write(detail::widen<SIMD, B1, S1, OUT_BITS>(in1.read()));
    }
    j = (j == TURNS - 1) ? 0 : j + 1;
  }
}

template <int SIMD, int OUT_BITS, int PIXELS,
          int F0, int B0, bool S0,
          int F1, int B1, bool S1,
          int F2, int B2, bool S2>
void concat(hls::stream<ap_uint<tdata_bits(SIMD * B0)>>& in0,
            hls::stream<ap_uint<tdata_bits(SIMD * B1)>>& in1,
            hls::stream<ap_uint<tdata_bits(SIMD * B2)>>& in2,
            hls::stream<ap_uint<tdata_bits(SIMD * OUT_BITS)>>& out0) {
  constexpr int TURNS = F0 + F1 + F2;
  int j = 0;  // word of the pixel
  for (int i = 0; i < PIXELS * TURNS; ++i) {
#pragma HLS PIPELINE II=1
    if (j < F0) {
      out0.write(detail::widen<SIMD, B0, S0, OUT_BITS>(in0.read()));
    } else if (j < F0 + F1) {
      out0.write(detail::widen<SIMD, B1, S1, OUT_BITS>(in1.read()));
    } else {
      out0.write(detail::widen<SIMD, B2, S2, OUT_BITS>(in2.read()));
    }
    j = (j == TURNS - 1) ? 0 : j + 1;
  }
}

template <int SIMD, int OUT_BITS, int PIXELS,
          int F0, int B0, bool S0,
          int F1, int B1, bool S1,
          int F2, int B2, bool S2,
          int F3, int B3, bool S3>
void concat(hls::stream<ap_uint<tdata_bits(SIMD * B0)>>& in0,
            hls::stream<ap_uint<tdata_bits(SIMD * B1)>>& in1,
            hls::stream<ap_uint<tdata_bits(SIMD * B2)>>& in2,
            hls::stream<ap_uint<tdata_bits(SIMD * B3)>>& in3,
            hls::stream<ap_uint<tdata_bits(SIMD * OUT_BITS)>>& out0) {
  constexpr int TURNS = F0 + F1 + F2 + F3;
  int j = 0;  // word of the pixel
  for (int i = 0; i < PIXELS * TURNS; ++i) {
#pragma HLS PIPELINE II=1
    if (j < F0) {
      out0.write(detail::widen<SIMD, B0, S0, OUT_BITS>(in0.read()));
    } else if (j < F0 + F1) {
      out0.write(detail::widen<SIMD, B1, S1, OUT_BITS>(in1.read()));
    } else if (j < F0 + F1 + F2) {
      out0.write(detail::widen<SIMD, B2, S2, OUT_BITS>(in2.read()));
    } else {
      out0.write(detail::widen<SIMD, B3, S3, OUT_BITS>(in3.read()));
    }
    j = (j == TURNS - 1) ? 0 : j + 1;
  }
}

}  // namespace cs

#endif
