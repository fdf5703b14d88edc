// cs::stream_reshape -- a Reshape between HW layers: the same words, passed on (pad bits
// above the payload cleared); the C++ twin of rtl/cs_stream_reshape.sv.
//
// Template parameters
//   PE, BITS   elements per word and element width
//   WORDS      words per frame
#ifndef CS_STREAM_RESHAPE_HPP
#define CS_STREAM_RESHAPE_HPP

#include <ap_int.h>
#include <hls_stream.h>

#include "cs_common.hpp"

namespace cs {

template <int PE, int BITS, int WORDS>
void stream_reshape(hls::stream<ap_uint<tdata_bits(PE * BITS)>>& in0,
                    hls::stream<ap_uint<tdata_bits(PE * BITS)>>& out0) {
  for (int i = 0; i < WORDS; ++i) {
#pragma HLS PIPELINE II=1
    const ap_uint<tdata_bits(PE * BITS)> w = in0.read();
    out0.write(ap_uint<tdata_bits(PE * BITS)>(w.range(PE * BITS - 1, 0)));
  }
}

}  // namespace cs

#endif
