// cs::vvau -- vector-vector-activation unit (FINN VVAU: the depthwise convolution after a
// depthwise sliding-window generator); the C++ twin of rtl/cs_vvau.sv, bit-exact with
// codesign.kernels.vvau.vvau.
//
// Per output pixel and channel c: y[c] = act(sum_k x[c][k] * W[k][c]) over the K2 kernel
// positions, folded over PE channels x SIMD kernel positions per word: SF = K2/SIMD words
// per channel fold, NF = C/PE channel folds per pixel, one output word per channel fold.
//
// Template parameters (as cs_vvau's)
//   K2, C, PE, SIMD   kernel positions, channels, channels and positions per word
//   N_PIXELS          output pixels per frame (FINN Dim h*w)
//   IN_BITS, IN_SIGNED  input elements; W_BITS signed weight width
//   ACC_BITS, ACC_SIGNED  the accumulator: products and sums wrap at ACC_BITS (two's
//                     complement); ACC_SIGNED says how the pattern is read (sign
//                     extension, threshold compare)
//   OUT_BITS          output width: N_THRES = 0 the accumulator extended to OUT_BITS,
//                     else ACT_BIAS + the count of thresholds <= the accumulator
//   N_THRES, THR_BITS thresholds per channel (0: no activation) and their width; they
//                     are signed iff ACC_SIGNED
//   ACT_BIAS          FINN ActVal added to the count
//   USE_DSP           the products in DSPs (true) or in LUTs (false): FINN's resType,
//                     cs::mac_lane's BIND_OP (cs::vvau's and cs::vvau_noact's last)
// Streams: in0 N_PIXELS*NF*SF words of SIMD*PE elements: element s*PE+p of word nf*SF+sf
// of a pixel is kernel position sf*SIMD+s of channel nf*PE+p (FINN's depthwise order);
// out0 N_PIXELS*NF words of PE elements, element p channel nf*PE+p.
// Arrays
//   weights[NF*SF][PE][SIMD]   weight of channel nf*PE+p, position sf*SIMD+s at
//                              [nf*SF+sf][p][s] (cs_vvau's WEIGHT_FILE words unpacked)
//   thresholds[NF][PE][N_THRES] channel nf*PE+p's thresholds (any order: every one is
//                              compared, in parallel); cs::vvau_noact, the
//                              N_THRES = 0 kernel, takes none
// One input word per iteration (II=1); the lanes' dot products (cs::mac_lane) and the
// threshold compares (cs::activate) unroll over the arrays' partitioned inner dimensions.
#ifndef CS_VVAU_HPP
#define CS_VVAU_HPP

#include <ap_int.h>
#include <hls_stream.h>

#include "cs_common.hpp"
#include "cs_datapath.hpp"

namespace cs {
namespace detail {

// The VVAU body; thresholds is null for N_THRES = 0 (then never read).
template <int K2, int C, int PE, int SIMD, int N_PIXELS, int IN_BITS, bool IN_SIGNED,
          int W_BITS, int ACC_BITS, bool ACC_SIGNED, int OUT_BITS, int N_THRES, int THR_BITS,
          int ACT_BIAS, bool USE_DSP, typename THR_T>
void vvau_core(hls::stream<ap_uint<tdata_bits(SIMD * PE * IN_BITS)>>& in0,
               hls::stream<ap_uint<tdata_bits(PE * OUT_BITS)>>& out0,
               const typename rom<W_BITS, true>::type weights[(C / PE) * (K2 / SIMD)][PE][SIMD],
               const THR_T thresholds[C / PE][PE][N_THRES > 0 ? N_THRES : 1]) {
  static_assert(C % PE == 0, "PE must divide C");
  static_assert(K2 % SIMD == 0, "SIMD must divide K2");
  static_assert(N_THRES > 0 || OUT_BITS >= ACC_BITS,
                "without activation the output carries the whole accumulator");
  constexpr int SF = K2 / SIMD;
  constexpr int NF = C / PE;
  constexpr int IW = tdata_bits(SIMD * PE * IN_BITS);
  constexpr int OW = tdata_bits(PE * OUT_BITS);
  typedef typename elem<ACC_BITS, ACC_SIGNED>::type acc_t;
  typedef typename elem<THR_BITS, ACC_SIGNED>::type thr_t;  // a threshold as compared

  acc_t acc[PE];
#pragma HLS ARRAY_PARTITION variable=acc complete dim=1

  for (int px = 0; px < N_PIXELS; ++px) {
    for (int nf = 0; nf < NF; ++nf) {
      for (int sf = 0; sf < SF; ++sf) {
#pragma HLS PIPELINE II=1
        const ap_uint<IW> x = in0.read();
        for (int p = 0; p < PE; ++p) {
#pragma HLS UNROLL
          // lane p's own window elements s*PE + p
          acc[p] = mac_lane<SIMD, IN_BITS, IN_SIGNED, W_BITS, false, USE_DSP>(
              acc[p], sf == 0, x, PE, p, weights[nf * SF + sf][p]);
        }
        if (sf == SF - 1) {
          ap_uint<OW> y = 0;
          for (int p = 0; p < PE; ++p) {
#pragma HLS UNROLL
            activate<OUT_BITS, N_THRES, ACT_BIAS, thr_t>(y, p, acc[p], thresholds, nf);
          }
          out0.write(y);
        }
      }
    }
  }
}

}  // namespace detail

// with thresholds (N_THRES > 0)
template <int K2, int C, int PE, int SIMD, int N_PIXELS, int IN_BITS, bool IN_SIGNED,
          int W_BITS, int ACC_BITS, bool ACC_SIGNED, int OUT_BITS, int N_THRES, int THR_BITS,
          int ACT_BIAS, bool USE_DSP>
void vvau(hls::stream<ap_uint<tdata_bits(SIMD * PE * IN_BITS)>>& in0,
          hls::stream<ap_uint<tdata_bits(PE * OUT_BITS)>>& out0,
          const typename rom<W_BITS, true>::type weights[(C / PE) * (K2 / SIMD)][PE][SIMD],
          const typename rom<THR_BITS, ACC_SIGNED>::type thresholds[C / PE][PE][N_THRES]) {
  static_assert(N_THRES > 0, "thresholds are given: N_THRES > 0");
  detail::vvau_core<K2, C, PE, SIMD, N_PIXELS, IN_BITS, IN_SIGNED, W_BITS, ACC_BITS,
                    ACC_SIGNED, OUT_BITS, N_THRES, THR_BITS, ACT_BIAS, USE_DSP>(
      in0, out0, weights, thresholds);
}

// without activation (N_THRES = 0): the accumulator extended to OUT_BITS is the output;
// the template parameters are cs::vvau's first eleven and USE_DSP
template <int K2, int C, int PE, int SIMD, int N_PIXELS, int IN_BITS, bool IN_SIGNED,
          int W_BITS, int ACC_BITS, bool ACC_SIGNED, int OUT_BITS, bool USE_DSP>
void vvau_noact(hls::stream<ap_uint<tdata_bits(SIMD * PE * IN_BITS)>>& in0,
                hls::stream<ap_uint<tdata_bits(PE * OUT_BITS)>>& out0,
                const typename rom<W_BITS, true>::type weights[(C / PE) * (K2 / SIMD)][PE][SIMD]) {
  detail::vvau_core<K2, C, PE, SIMD, N_PIXELS, IN_BITS, IN_SIGNED, W_BITS, ACC_BITS,
                    ACC_SIGNED, OUT_BITS, 0, ACC_BITS + 1, 0, USE_DSP, int8_t>(
      in0, out0, weights, nullptr);
}

}  // namespace cs

#endif
