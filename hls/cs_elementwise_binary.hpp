// cs::elementwise_binary, cs::elementwise_const -- elementwise binary operation of two
// streams, or of one stream and a constant array (FINN ElementwiseAdd / Sub / Mul / Max /
// AbsDiff); the C++ twins of rtl/cs_elementwise_binary.sv, bit-exact with
// codesign.dataflow.kernels.elementwise_binary.elementwise.
//
// Template parameters
//   OP                     0 add, 1 sub (lhs - rhs), 2 mul, 3 max, 4 absdiff |lhs - rhs|
//   PE                     elements per word, on every stream and constant row
//   LHS_BITS, LHS_SIGNED   lhs element width and signedness
//   RHS_BITS, RHS_SIGNED   rhs element width and signedness
//   OUT_BITS, OUT_SIGNED   output element width (the exact result wraps to it) and
//                          signedness (the bit pattern is the same either way)
//   LHS_CONST              elementwise_const: true if lhs is the constant, else rhs
//   WORDS                  words per frame on every stream
//   CONST_WORDS            elementwise_const: rows of `consts`, the constant's period in
//                          stream words (word i takes row i mod CONST_WORDS)
// One word of each streamed input and one output word per iteration.
#ifndef CS_ELEMENTWISE_BINARY_HPP
#define CS_ELEMENTWISE_BINARY_HPP

#include <ap_int.h>
#include <hls_stream.h>

#include "cs_common.hpp"

namespace cs {

// The OP codes of codesign.dataflow.kernels.elementwise_binary.OPS.
enum { EW_ADD = 0, EW_SUB = 1, EW_MUL = 2, EW_MAX = 3, EW_ABSDIFF = 4 };

// One lane: lhs element `a` OP rhs element `b`, exact, wrapped to OUT_BITS.
template <int OP, int LHS_BITS, bool LHS_SIGNED, int RHS_BITS, bool RHS_SIGNED, int OUT_BITS,
          bool OUT_SIGNED>
typename elem<OUT_BITS, OUT_SIGNED>::type ew_lane(
    const typename elem<LHS_BITS, LHS_SIGNED>::type& a,
    const typename elem<RHS_BITS, RHS_SIGNED>::type& b) {
#pragma HLS INLINE
  // both operands made signed; their sum of widths holds every result of every OP
  constexpr int SW = LHS_BITS + !LHS_SIGNED + RHS_BITS + !RHS_SIGNED;
  const ap_int<SW> av = a, bv = b;
  ap_int<SW> r;
  if (OP == EW_ADD) r = av + bv;
  else if (OP == EW_SUB) r = av - bv;
  else if (OP == EW_MUL) r = av * bv;
  else if (OP == EW_MAX) r = av > bv ? av : bv;
  else r = av > bv ? ap_int<SW>(av - bv) : ap_int<SW>(bv - av);
  return typename elem<OUT_BITS, OUT_SIGNED>::type(r);  // sign-extends or wraps
}

template <int OP, int PE, int LHS_BITS, bool LHS_SIGNED, int RHS_BITS, bool RHS_SIGNED,
          int OUT_BITS, bool OUT_SIGNED, int WORDS>
void elementwise_binary(hls::stream<ap_uint<tdata_bits(PE * LHS_BITS)>>& in0,
                        hls::stream<ap_uint<tdata_bits(PE * RHS_BITS)>>& in1,
                        hls::stream<ap_uint<tdata_bits(PE * OUT_BITS)>>& out0) {
  constexpr int OW = tdata_bits(PE * OUT_BITS);
  for (int i = 0; i < WORDS; ++i) {
#pragma HLS PIPELINE II=1
    const ap_uint<tdata_bits(PE * LHS_BITS)> a = in0.read();
    const ap_uint<tdata_bits(PE * RHS_BITS)> b = in1.read();
    ap_uint<OW> y = 0;
    for (int p = 0; p < PE; ++p) {
#pragma HLS UNROLL
      cs::set<OUT_BITS>(
          y, p,
          ew_lane<OP, LHS_BITS, LHS_SIGNED, RHS_BITS, RHS_SIGNED, OUT_BITS, OUT_SIGNED>(
              cs::get<LHS_BITS, LHS_SIGNED>(a, p), cs::get<RHS_BITS, RHS_SIGNED>(b, p)));
    }
    out0.write(y);
  }
}

// The streamed operand's width and signedness, and the constant's (the other side).
template <bool LHS_CONST, int LHS_BITS, int RHS_BITS>
struct ew_sides {
  static constexpr int STREAM_BITS = LHS_CONST ? RHS_BITS : LHS_BITS;
  static constexpr int CONST_BITS = LHS_CONST ? LHS_BITS : RHS_BITS;
};

template <int OP, int PE, int LHS_BITS, bool LHS_SIGNED, int RHS_BITS, bool RHS_SIGNED,
          int OUT_BITS, bool OUT_SIGNED, bool LHS_CONST, int WORDS, int CONST_WORDS>
void elementwise_const(
    hls::stream<ap_uint<tdata_bits(PE * ew_sides<LHS_CONST, LHS_BITS, RHS_BITS>::STREAM_BITS)>>&
        in0,
    hls::stream<ap_uint<tdata_bits(PE * OUT_BITS)>>& out0,
    const typename rom<ew_sides<LHS_CONST, LHS_BITS, RHS_BITS>::CONST_BITS,
                       LHS_CONST ? LHS_SIGNED : RHS_SIGNED>::type consts[CONST_WORDS][PE]) {
  typedef ew_sides<LHS_CONST, LHS_BITS, RHS_BITS> sides;
  constexpr int OW = tdata_bits(PE * OUT_BITS);
  int row = 0;
  for (int i = 0; i < WORDS; ++i) {
#pragma HLS PIPELINE II=1
    const ap_uint<tdata_bits(PE * sides::STREAM_BITS)> x = in0.read();
    ap_uint<OW> y = 0;
    for (int p = 0; p < PE; ++p) {
#pragma HLS UNROLL
      const typename elem<LHS_BITS, LHS_SIGNED>::type a =
          LHS_CONST ? typename elem<LHS_BITS, LHS_SIGNED>::type(consts[row][p])
                    : cs::get<LHS_BITS, LHS_SIGNED>(x, p);
      const typename elem<RHS_BITS, RHS_SIGNED>::type b =
          LHS_CONST ? cs::get<RHS_BITS, RHS_SIGNED>(x, p)
                    : typename elem<RHS_BITS, RHS_SIGNED>::type(consts[row][p]);
      cs::set<OUT_BITS>(
          y, p,
          ew_lane<OP, LHS_BITS, LHS_SIGNED, RHS_BITS, RHS_SIGNED, OUT_BITS, OUT_SIGNED>(a, b));
    }
    out0.write(y);
    row = row == CONST_WORDS - 1 ? 0 : row + 1;
  }
}

}  // namespace cs

#endif
