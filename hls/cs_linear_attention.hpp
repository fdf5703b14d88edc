// cs::linear_attention -- the Taylor linear attention with token-centred keys; the C++
// twin of rtl/cs_linear_attention.sv, bit-exact with codesign.attention.linear_attention.
//
// in1 (keys) and in2 (values) bring N tokens of D = H * DH elements, SIMD a word; they
// accumulate K^T.V, sum K and sum V per head. in0 then brings the N queries; output i,
// head h, feature b (one a word):
//   Y = (N sumV[h][b] << SHIFT) + MULT * sum_a q[i][h][a] * (N KV[h][a][b] - sumK[h][a] sumV[h][b])
//   Z = Y >> DOWN (arithmetic; DOWN < 0 shifts left), in OUT_BITS
// W is the internal width (it holds every intermediate value exactly). One frame per call.
#ifndef CS_LINEAR_ATTENTION_HPP
#define CS_LINEAR_ATTENTION_HPP

#include <ap_int.h>
#include <hls_stream.h>

#include "cs_common.hpp"

namespace cs {

template <int N, int H, int DH, int SIMD, int Q_BITS, bool Q_SIGNED, int K_BITS, bool K_SIGNED,
          int V_BITS, bool V_SIGNED, int MULT, int SHIFT, int DOWN, int W, int OUT_BITS>
void linear_attention(hls::stream<ap_uint<tdata_bits(SIMD * Q_BITS)>>& in0,
                      hls::stream<ap_uint<tdata_bits(SIMD * K_BITS)>>& in1,
                      hls::stream<ap_uint<tdata_bits(SIMD * V_BITS)>>& in2,
                      hls::stream<ap_uint<tdata_bits(OUT_BITS)>>& out0) {
  constexpr int D = H * DH;
  const ap_int<W> n = N;
  const ap_int<W> mult = MULT;
  ap_int<W> kv[H * DH * DH];
  ap_int<W> sk[D], sv[D];
  for (int e = 0; e < H * DH * DH; ++e) kv[e] = 0;
  for (int c = 0; c < D; ++c) sk[c] = sv[c] = 0;

  for (int j = 0; j < N; ++j) {
    ap_int<W> kt[D], vt[D];
    for (int w = 0; w < D / SIMD; ++w) {
      const ap_uint<tdata_bits(SIMD * K_BITS)> kw = in1.read();
      const ap_uint<tdata_bits(SIMD * V_BITS)> vw = in2.read();
      for (int s = 0; s < SIMD; ++s) {
        kt[w * SIMD + s] = ap_int<W>(cs::get<K_BITS, K_SIGNED>(kw, s));
        vt[w * SIMD + s] = ap_int<W>(cs::get<V_BITS, V_SIGNED>(vw, s));
      }
    }
    for (int c = 0; c < D; ++c) {
      sk[c] += kt[c];
      sv[c] += vt[c];
    }
    for (int h = 0; h < H; ++h)
      for (int a = 0; a < DH; ++a)
        for (int b = 0; b < DH; ++b) kv[(h * DH + a) * DH + b] += kt[h * DH + a] * vt[h * DH + b];
  }
  for (int i = 0; i < N; ++i) {
    ap_int<W> q[D];
    for (int w = 0; w < D / SIMD; ++w) {
      const ap_uint<tdata_bits(SIMD * Q_BITS)> qw = in0.read();
      for (int s = 0; s < SIMD; ++s) q[w * SIMD + s] = ap_int<W>(cs::get<Q_BITS, Q_SIGNED>(qw, s));
    }
    for (int h = 0; h < H; ++h) {
      for (int b = 0; b < DH; ++b) {
        ap_int<W> dot = 0;
        for (int a = 0; a < DH; ++a) {
          const ap_int<W> g = n * kv[(h * DH + a) * DH + b] - sk[h * DH + a] * sv[h * DH + b];
          dot += q[h * DH + a] * g;
        }
        const ap_int<W> nsv = n * sv[h * DH + b];
        const ap_int<W> y = (nsv << SHIFT) + mult * dot;
        const ap_int<W> z = DOWN >= 0 ? ap_int<W>(y >> (DOWN >= 0 ? DOWN : 0))
                                      : ap_int<W>(y << (DOWN >= 0 ? 0 : -DOWN));
        ap_uint<tdata_bits(OUT_BITS)> word = 0;
        cs::set<OUT_BITS>(word, 0, z);
        out0.write(word);
      }
    }
  }
}

}  // namespace cs

#endif
