// cs::stream_matmul -- a matrix product of two streamed operands per attention head, the
// scores Q.K^T (MODE 0) or the mix A.V (MODE 1); the C++ twin of rtl/cs_stream_matmul.sv,
// bit-exact with codesign.dataflow.kernels.stream_matmul.
//
// in1 brings B (NK tokens x H heads x DH features, BPE a word), buffered whole; in0 then
// brings NA rows (row r = query * H + head) of K elements, SIMD a word:
//   MODE 0: K = DH, MH = NK, out[r][j] = sum_c a[r][c] * B[j][h][c]
//   MODE 1: K = NK, MH = DH, out[r][c] = sum_j a[r][j] * B[j][h][c]
// Outputs, PE a word, are the exact sums in ACC_BITS (two's complement).
// One frame per call.
#ifndef CS_STREAM_MATMUL_HPP
#define CS_STREAM_MATMUL_HPP

#include <ap_int.h>
#include <hls_stream.h>

#include "cs_common.hpp"

namespace cs {

template <int NA, int H, int NK, int DH, bool MODE, int PE, int SIMD, int BPE, int A_BITS,
          bool A_SIGNED, int B_BITS, bool B_SIGNED, int ACC_BITS>
void stream_matmul(hls::stream<ap_uint<tdata_bits(SIMD * A_BITS)>>& in0,
                   hls::stream<ap_uint<tdata_bits(BPE * B_BITS)>>& in1,
                   hls::stream<ap_uint<tdata_bits(PE * ACC_BITS)>>& out0) {
  constexpr int K = MODE ? NK : DH;
  constexpr int MH = MODE ? DH : NK;
  typedef typename elem<A_BITS, A_SIGNED>::type a_t;
  typedef typename elem<B_BITS, B_SIGNED>::type b_t;

  b_t buf[NK * H * DH];
  for (int w = 0; w < NK * H * DH / BPE; ++w) {
    const ap_uint<tdata_bits(BPE * B_BITS)> word = in1.read();
    for (int p = 0; p < BPE; ++p) buf[w * BPE + p] = cs::get<B_BITS, B_SIGNED>(word, p);
  }
  for (int r = 0; r < NA; ++r) {
    const int h = r % H;
    a_t row[K];
    for (int w = 0; w < K / SIMD; ++w) {
      const ap_uint<tdata_bits(SIMD * A_BITS)> word = in0.read();
      for (int s = 0; s < SIMD; ++s) row[w * SIMD + s] = cs::get<A_BITS, A_SIGNED>(word, s);
    }
    for (int nf = 0; nf < MH / PE; ++nf) {
      ap_uint<tdata_bits(PE * ACC_BITS)> y = 0;
      for (int p = 0; p < PE; ++p) {
        const int m = nf * PE + p;
        ap_int<ACC_BITS> acc = 0;
        for (int k = 0; k < K; ++k) {
          const b_t b = MODE ? buf[(k * H + h) * DH + m] : buf[(m * H + h) * DH + k];
          acc += ap_int<ACC_BITS>(row[k]) * ap_int<ACC_BITS>(b);
        }
        cs::set<ACC_BITS>(y, p, acc);
      }
      out0.write(y);
    }
  }
}

}  // namespace cs

#endif
