// cs::split -- channel split of one stream into 1..4 streams (FINN StreamingSplit: a Split
// on the last axis of NHWC tensors); the C++ twin of rtl/cs_split.sv, bit-exact with
// codesign.kernels._channels.split_channels.
//
// Template parameters
//   SIMD, ELEM_BITS  elements per word and their width, on every stream (the payload
//                    moved; pad bits zero)
//   PIXELS           pixels per frame
//   F<i>             words of output i per pixel (ChannelsPerStream[i] / SIMD)
// Streams: in0, then out0 .. out{N-1}: one overload per output count N (the number of
// streams the call passes). One input word per iteration, written to the output whose
// turn it is: per pixel F0 words to out0, then F1 to out1, ...
#ifndef CS_SPLIT_HPP
#define CS_SPLIT_HPP

#include <ap_int.h>
#include <hls_stream.h>

#include "cs_common.hpp"

namespace cs {
namespace detail {

// a word's payload, pad bits cleared
template <int PW>
ap_uint<tdata_bits(PW)> split_payload(const ap_uint<tdata_bits(PW)>& w) {
#pragma HLS INLINE
  return ap_uint<tdata_bits(PW)>(w.range(PW - 1, 0));
}

}  // namespace detail

template <int SIMD, int ELEM_BITS, int PIXELS, int F0>
void split(hls::stream<ap_uint<tdata_bits(SIMD * ELEM_BITS)>>& in0,
           hls::stream<ap_uint<tdata_bits(SIMD * ELEM_BITS)>>& out0) {
  for (int i = 0; i < PIXELS * F0; ++i) {
#pragma HLS PIPELINE II=1
    out0.write(detail::split_payload<SIMD * ELEM_BITS>(in0.read()));
  }
}

template <int SIMD, int ELEM_BITS, int PIXELS, int F0, int F1>
void split(hls::stream<ap_uint<tdata_bits(SIMD * ELEM_BITS)>>& in0,
           hls::stream<ap_uint<tdata_bits(SIMD * ELEM_BITS)>>& out0,
           hls::stream<ap_uint<tdata_bits(SIMD * ELEM_BITS)>>& out1) {
  constexpr int WB = tdata_bits(SIMD * ELEM_BITS);
  constexpr int TURNS = F0 + F1;
  int j = 0;  // word of the pixel
  for (int i = 0; i < PIXELS * TURNS; ++i) {
#pragma HLS PIPELINE II=1
    const ap_uint<WB> w = detail::split_payload<SIMD * ELEM_BITS>(in0.read());
    if (j < F0) {
      out0.write(w);
    } else {
      out1.write(w);
    }
    j = (j == TURNS - 1) ? 0 : j + 1;
  }
}

template <int SIMD, int ELEM_BITS, int PIXELS, int F0, int F1, int F2>
void split(hls::stream<ap_uint<tdata_bits(SIMD * ELEM_BITS)>>& in0,
           hls::stream<ap_uint<tdata_bits(SIMD * ELEM_BITS)>>& out0,
           hls::stream<ap_uint<tdata_bits(SIMD * ELEM_BITS)>>& out1,
           hls::stream<ap_uint<tdata_bits(SIMD * ELEM_BITS)>>& out2) {
  constexpr int WB = tdata_bits(SIMD * ELEM_BITS);
  constexpr int TURNS = F0 + F1 + F2;
  int j = 0;  // word of the pixel
  for (int i = 0; i < PIXELS * TURNS; ++i) {
#pragma HLS PIPELINE II=1
    const ap_uint<WB> w = detail::split_payload<SIMD * ELEM_BITS>(in0.read());
    if (j < F0) {
      out0.write(w);
    } else if (j < F0 + F1) {
      out1.write(w);
    } else {
      out2.write(w);
    }
    j = (j == TURNS - 1) ? 0 : j + 1;
  }
}

template <int SIMD, int ELEM_BITS, int PIXELS, int F0, int F1, int F2, int F3>
void split(hls::stream<ap_uint<tdata_bits(SIMD * ELEM_BITS)>>& in0,
           hls::stream<ap_uint<tdata_bits(SIMD * ELEM_BITS)>>& out0,
           hls::stream<ap_uint<tdata_bits(SIMD * ELEM_BITS)>>& out1,
           hls::stream<ap_uint<tdata_bits(SIMD * ELEM_BITS)>>& out2,
           hls::stream<ap_uint<tdata_bits(SIMD * ELEM_BITS)>>& out3) {
  constexpr int WB = tdata_bits(SIMD * ELEM_BITS);
  constexpr int TURNS = F0 + F1 + F2 + F3;
  int j = 0;  // word of the pixel
  for (int i = 0; i < PIXELS * TURNS; ++i) {
#pragma HLS PIPELINE II=1
    const ap_uint<WB> w = detail::split_payload<SIMD * ELEM_BITS>(in0.read());
    if (j < F0) {
      out0.write(w);
    } else if (j < F0 + F1) {
      out1.write(w);
    } else if (j < F0 + F1 + F2) {
      out2.write(w);
    } else {
      out3.write(w);
    }
    j = (j == TURNS - 1) ? 0 : j + 1;
  }
}

}  // namespace cs

#endif
