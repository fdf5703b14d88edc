// cs_mvau.hpp -- matrix-vector-activation unit (FINN MVAU semantics), one frame per call.
//
// Per input vector x (MW elements) computes y[r] = act(sum_c x[c] * W[c][r]) for the MH
// output rows, folded over PE rows x SIMD columns per step (one step per cycle):
// SF = MW/SIMD input words per vector, NF = MH/PE output words per vector, N_VECTORS
// vectors per frame. Bit-exact with rtl/cs_mvau.sv and codesign.kernels.mvau.mvau:
//   * the accumulator is ACC_BITS wide and wraps (two's complement); ACC_SIGNED says how
//     its bit pattern is read (compare, extension);
//   * cs::mvau: output = ACT_BIAS + count(t : acc >= thresholds[nf][p][t]) truncated to
//     OUT_BITS (thresholds have the accumulator's signedness, THR_BITS wide);
//   * cs::mvau_noact: output = the accumulator extended (per ACC_SIGNED) to OUT_BITS.
// USE_DSP (the last template parameter of cs::mvau and cs::mvau_noact): the products in
// DSPs (true) or in LUTs (false), FINN's resType, cs::mac_lane's BIND_OP.
// Streams: input words of SIMD elements of IN_BITS (signed iff IN_SIGNED), output words of
// PE elements of OUT_BITS, packed as cs_common.hpp says.
// Arrays: weights[NF*SF][PE][SIMD], entry [nf*SF+sf][p][s] the weight of row nf*PE+p and
// column sf*SIMD+s (signed, W_BITS); thresholds[NF][PE][N_THRES] of channel nf*PE+p;
// elements stored as rom<BITS, SIGNED>::type (cs_common.hpp), read as ap_int / ap_uint.
// The input vector is buffered while it streams in (nf = 0) and re-read for nf > 0, so
// each input word is read once: II = NF*SF steps per vector, as the RTL.
#ifndef CS_MVAU_HPP
#define CS_MVAU_HPP

#include <ap_int.h>
#include <hls_stream.h>

#include "cs_common.hpp"
#include "cs_datapath.hpp"

namespace cs {
namespace detail {

// XNOR: FINN's binaryXnorMode -- inputs and weights are 1-bit codes of bipolar values
// (IN_BITS = W_BITS = 1, unsigned) and each product is XNOR(x, w), so the unsigned
// accumulator counts the matches (the XNOR-popcount), as rtl/cs_mvau.sv with XNOR = 1.
// The lanes' steps and activations are cs::mac_lane and cs::activate (cs_datapath.hpp).
template <int MW, int MH, int PE, int SIMD, int N_VECTORS, int IN_BITS, bool IN_SIGNED,
          int W_BITS, int ACC_BITS, bool ACC_SIGNED, int OUT_BITS, int N_THRES, int THR_BITS,
          int ACT_BIAS, bool XNOR, bool USE_DSP>
void mvau_core(hls::stream<ap_uint<tdata_bits(SIMD * IN_BITS)>>& in,
               hls::stream<ap_uint<tdata_bits(PE * OUT_BITS)>>& out,
               const typename rom<W_BITS, !XNOR>::type weights[(MH / PE) * (MW / SIMD)][PE][SIMD],
               const typename rom<THR_BITS, ACC_SIGNED>::type (
                   *thresholds)[PE][N_THRES > 0 ? N_THRES : 1]) {
  static_assert(MW % SIMD == 0, "SIMD must divide MW");
  static_assert(MH % PE == 0, "PE must divide MH");
  static_assert(N_THRES > 0 || OUT_BITS >= ACC_BITS, "no activation: OUT_BITS >= ACC_BITS");
  static_assert(!XNOR || (IN_BITS == 1 && W_BITS == 1 && !IN_SIGNED && !ACC_SIGNED),
                "XNOR: 1-bit unsigned inputs and weights, unsigned accumulator");
  constexpr int SF = MW / SIMD;
  constexpr int NF = MH / PE;
  typedef ap_uint<tdata_bits(SIMD * IN_BITS)> in_word;
  typedef ap_uint<tdata_bits(PE * OUT_BITS)> out_word;
  typedef typename elem<ACC_BITS, ACC_SIGNED>::type acc_t;
  typedef typename elem<THR_BITS, ACC_SIGNED>::type thr_t;

  in_word buf[SF];
  acc_t acc[PE];
#pragma HLS ARRAY_PARTITION variable=acc complete dim=1
  for (int v = 0; v < N_VECTORS; v++) {
    for (int nf = 0; nf < NF; nf++) {
      for (int sf = 0; sf < SF; sf++) {
#pragma HLS PIPELINE II=1
        in_word x;
        if (nf == 0) {
          x = in.read();
          buf[sf] = x;
        } else {
          x = buf[sf];
        }
        for (int p = 0; p < PE; p++) {
#pragma HLS UNROLL
          acc[p] = mac_lane<SIMD, IN_BITS, IN_SIGNED, W_BITS, XNOR, USE_DSP>(
              acc[p], sf == 0, x, 1, 0, weights[nf * SF + sf][p]);
        }
        if (sf == SF - 1) {
          out_word y = 0;
          for (int p = 0; p < PE; p++) {
#pragma HLS UNROLL
            activate<OUT_BITS, N_THRES, ACT_BIAS, thr_t>(y, p, acc[p], thresholds, nf);
          }
          out.write(y);
        }
      }
    }
  }
}

}  // namespace detail

// MVAU with a MultiThreshold activation (N_THRES >= 1).
template <int MW, int MH, int PE, int SIMD, int N_VECTORS, int IN_BITS, bool IN_SIGNED,
          int W_BITS, int ACC_BITS, bool ACC_SIGNED, int OUT_BITS, int N_THRES, int THR_BITS,
          int ACT_BIAS, bool USE_DSP>
void mvau(hls::stream<ap_uint<tdata_bits(SIMD * IN_BITS)>>& in,
          hls::stream<ap_uint<tdata_bits(PE * OUT_BITS)>>& out,
          const typename rom<W_BITS, true>::type weights[(MH / PE) * (MW / SIMD)][PE][SIMD],
          const typename rom<THR_BITS, ACC_SIGNED>::type thresholds[MH / PE][PE][N_THRES]) {
  static_assert(N_THRES >= 1, "cs::mvau takes thresholds; use cs::mvau_noact without");
  detail::mvau_core<MW, MH, PE, SIMD, N_VECTORS, IN_BITS, IN_SIGNED, W_BITS, ACC_BITS,
                    ACC_SIGNED, OUT_BITS, N_THRES, THR_BITS, ACT_BIAS, false, USE_DSP>(
      in, out, weights, thresholds);
}

// MVAU without activation: the wrapped accumulators are the outputs.
template <int MW, int MH, int PE, int SIMD, int N_VECTORS, int IN_BITS, bool IN_SIGNED,
          int W_BITS, int ACC_BITS, bool ACC_SIGNED, int OUT_BITS, bool USE_DSP>
void mvau_noact(hls::stream<ap_uint<tdata_bits(SIMD * IN_BITS)>>& in,
                hls::stream<ap_uint<tdata_bits(PE * OUT_BITS)>>& out,
                const typename rom<W_BITS, true>::type weights[(MH / PE) * (MW / SIMD)][PE][SIMD]) {
  detail::mvau_core<MW, MH, PE, SIMD, N_VECTORS, IN_BITS, IN_SIGNED, W_BITS, ACC_BITS,
                    ACC_SIGNED, OUT_BITS, 0, 2, 0, false, USE_DSP>(in, out, weights, nullptr);
}

// binaryXnorMode MVAU with a MultiThreshold activation (thresholds in popcount terms).
template <int MW, int MH, int PE, int SIMD, int N_VECTORS, int ACC_BITS, int OUT_BITS,
          int N_THRES, int THR_BITS, int ACT_BIAS>
void mvau_xnor(hls::stream<ap_uint<tdata_bits(SIMD)>>& in,
               hls::stream<ap_uint<tdata_bits(PE * OUT_BITS)>>& out,
               const typename rom<1, false>::type weights[(MH / PE) * (MW / SIMD)][PE][SIMD],
               const typename rom<THR_BITS, false>::type thresholds[MH / PE][PE][N_THRES]) {
  static_assert(N_THRES >= 1, "cs::mvau_xnor takes thresholds; use cs::mvau_xnor_noact");
  detail::mvau_core<MW, MH, PE, SIMD, N_VECTORS, 1, false, 1, ACC_BITS, false, OUT_BITS,
                    N_THRES, THR_BITS, ACT_BIAS, true, false>(in, out, weights, thresholds);
}

// binaryXnorMode MVAU without activation: the popcounts are the outputs.
template <int MW, int MH, int PE, int SIMD, int N_VECTORS, int ACC_BITS, int OUT_BITS>
void mvau_xnor_noact(hls::stream<ap_uint<tdata_bits(SIMD)>>& in,
                     hls::stream<ap_uint<tdata_bits(PE * OUT_BITS)>>& out,
                     const typename rom<1, false>::type weights[(MH / PE) * (MW / SIMD)][PE][SIMD]) {
  detail::mvau_core<MW, MH, PE, SIMD, N_VECTORS, 1, false, 1, ACC_BITS, false, OUT_BITS, 0, 2,
                    0, true, false>(in, out, weights, nullptr);
}

}  // namespace cs

#endif
