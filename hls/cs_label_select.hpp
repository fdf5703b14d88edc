// cs_label_select.hpp -- top-K label select (FINN LabelSelect), one frame per call: of the
// N_LABELS values (PE per input word), the indices of the K largest, largest first, one
// index per output word (OUT_BITS, unsigned). Equal values keep index order (the lower
// index first), as ONNX TopK in FINN's execution, rtl/cs_label_select.sv and
// codesign.kernels.label_select.label_select: a value enters the sorted list only above
// entries strictly smaller than it.
#ifndef CS_LABEL_SELECT_HPP
#define CS_LABEL_SELECT_HPP

#include <ap_int.h>
#include <hls_stream.h>

#include "cs_common.hpp"

namespace cs {

template <int N_LABELS, int PE, int K, int IN_BITS, bool IN_SIGNED, int OUT_BITS>
void label_select(hls::stream<ap_uint<tdata_bits(PE * IN_BITS)>>& in,
                  hls::stream<ap_uint<tdata_bits(OUT_BITS)>>& out) {
  static_assert(N_LABELS % PE == 0, "PE must divide N_LABELS");
  static_assert(K >= 1 && K <= N_LABELS, "1 <= K <= N_LABELS");
  typedef typename elem<IN_BITS, IN_SIGNED>::type val_t;
  constexpr int IW = clog2(N_LABELS) + 1;
  val_t vals[K];
  ap_uint<IW> idxs[K];
  bool used[K];
#pragma HLS ARRAY_PARTITION variable=vals complete dim=1
#pragma HLS ARRAY_PARTITION variable=idxs complete dim=1
#pragma HLS ARRAY_PARTITION variable=used complete dim=1
  for (int j = 0; j < K; j++) {
#pragma HLS UNROLL
    vals[j] = 0;
    idxs[j] = 0;
    used[j] = false;
  }
  for (int w = 0; w < N_LABELS / PE; w++) {
#pragma HLS PIPELINE II=1
    const ap_uint<tdata_bits(PE * IN_BITS)> x = in.read();
    for (int p = 0; p < PE; p++) {
#pragma HLS UNROLL
      const val_t v = get<IN_BITS, IN_SIGNED>(x, p);
      const ap_uint<IW> idx = w * PE + p;
      // insertion: entries from the first one below v (or unused) shift down one place
      bool shift = false;
      val_t carry_v = v;
      ap_uint<IW> carry_i = idx;
      bool carry_u = true;
      for (int j = 0; j < K; j++) {
#pragma HLS UNROLL
        shift = shift || !used[j] || v > vals[j];
        if (shift) {
          const val_t tv = vals[j];
          const ap_uint<IW> ti = idxs[j];
          const bool tu = used[j];
          vals[j] = carry_v;
          idxs[j] = carry_i;
          used[j] = carry_u;
          carry_v = tv;
          carry_i = ti;
          carry_u = tu;
        }
      }
    }
  }
  for (int j = 0; j < K; j++) {
#pragma HLS PIPELINE II=1
    ap_uint<tdata_bits(OUT_BITS)> y = 0;
    set<OUT_BITS>(y, 0, idxs[j]);
    out.write(y);
  }
}

}  // namespace cs

#endif
