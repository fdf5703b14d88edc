// cs::duplicate_streams -- fork of one stream into 1..4 identical streams (FINN
// DuplicateStreams: the skip and the conv path of a residual block); the C++ twin of
// rtl/cs_duplicate_streams.sv, bit-exact with
// codesign.kernels.duplicate_streams.duplicate_streams.
//
// Template parameters
//   PE, ELEM_BITS  elements per word and their width (the payload copied; pad bits zero)
//   WORDS          words per frame on every stream (the instance's words_in)
// Streams: in0, then out0 .. out{N-1}: one overload per output count N (NumOutputStreams
// is the number of streams the call passes). One word in and N out per iteration; the
// DATAFLOW top gives every output its own FIFO, so the branches need not run in step.
#ifndef CS_DUPLICATE_STREAMS_HPP
#define CS_DUPLICATE_STREAMS_HPP

#include <ap_int.h>
#include <hls_stream.h>

#include "cs_common.hpp"

namespace cs {
namespace detail {

// a word's payload, pad bits cleared
template <int PW, int WB>
ap_uint<WB> dup_payload(const ap_uint<WB>& w) {
#pragma HLS INLINE
  return ap_uint<WB>(w.range(PW - 1, 0));
}

}  // namespace detail
template <int PE, int ELEM_BITS, int WORDS>
void duplicate_streams(hls::stream<ap_uint<tdata_bits(PE * ELEM_BITS)>>& in0,
                       hls::stream<ap_uint<tdata_bits(PE * ELEM_BITS)>>& out0) {
  constexpr int WB = tdata_bits(PE * ELEM_BITS);
  for (int i = 0; i < WORDS; ++i) {
#pragma HLS PIPELINE II=1
    out0.write(detail::dup_payload<PE * ELEM_BITS, WB>(in0.read()));
  }
}

template <int PE, int ELEM_BITS, int WORDS>
void duplicate_streams(hls::stream<ap_uint<tdata_bits(PE * ELEM_BITS)>>& in0,
                       hls::stream<ap_uint<tdata_bits(PE * ELEM_BITS)>>& out0,
                       hls::stream<ap_uint<tdata_bits(PE * ELEM_BITS)>>& out1) {
  constexpr int WB = tdata_bits(PE * ELEM_BITS);
  for (int i = 0; i < WORDS; ++i) {
#pragma HLS PIPELINE II=1
    const ap_uint<WB> w = detail::dup_payload<PE * ELEM_BITS, WB>(in0.read());
    out0.write(w);
    out1.write(w);
  }
}

template <int PE, int ELEM_BITS, int WORDS>
void duplicate_streams(hls::stream<ap_uint<tdata_bits(PE * ELEM_BITS)>>& in0,
                       hls::stream<ap_uint<tdata_bits(PE * ELEM_BITS)>>& out0,
                       hls::stream<ap_uint<tdata_bits(PE * ELEM_BITS)>>& out1,
                       hls::stream<ap_uint<tdata_bits(PE * ELEM_BITS)>>& out2) {
  constexpr int WB = tdata_bits(PE * ELEM_BITS);
  for (int i = 0; i < WORDS; ++i) {
#pragma HLS PIPELINE II=1
    const ap_uint<WB> w = detail::dup_payload<PE * ELEM_BITS, WB>(in0.read());
    out0.write(w);
    out1.write(w);
    out2.write(w);
  }
}

template <int PE, int ELEM_BITS, int WORDS>
void duplicate_streams(hls::stream<ap_uint<tdata_bits(PE * ELEM_BITS)>>& in0,
                       hls::stream<ap_uint<tdata_bits(PE * ELEM_BITS)>>& out0,
                       hls::stream<ap_uint<tdata_bits(PE * ELEM_BITS)>>& out1,
                       hls::stream<ap_uint<tdata_bits(PE * ELEM_BITS)>>& out2,
                       hls::stream<ap_uint<tdata_bits(PE * ELEM_BITS)>>& out3) {
  constexpr int WB = tdata_bits(PE * ELEM_BITS);
  for (int i = 0; i < WORDS; ++i) {
#pragma HLS PIPELINE II=1
    const ap_uint<WB> w = detail::dup_payload<PE * ELEM_BITS, WB>(in0.read());
    out0.write(w);
    out1.write(w);
    out2.write(w);
    out3.write(w);
  }
}

}  // namespace cs

#endif
