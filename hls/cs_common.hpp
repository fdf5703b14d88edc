// cs_common.hpp -- stream-word packing shared by the hls/ kernels (namespace cs).
//
// A stream word is an ap_uint<W> holding elements of BITS bits: element i at bits
// [i*BITS, (i+1)*BITS), element 0 in the LSBs, two's complement when signed, pad bits
// above the last element zero -- exactly the packing of the rtl/ kernels and of
// codesign.backends.words (pack_words / unpack_words). W is the byte-aligned width
// tdata_bits(payload) of codesign.backends.words.tdata_bits.
#ifndef CS_COMMON_HPP
#define CS_COMMON_HPP

#include <ap_int.h>
#include <stdint.h>

namespace cs {

// AXI-Stream tdata width for `bits` payload bits: rounded up to whole bytes, at least 8.
constexpr int tdata_bits(int bits) { return bits <= 8 ? 8 : (bits + 7) / 8 * 8; }

// ceil(log2(n)) for n >= 1 (bits of a counter holding 0 .. n-1), at least 1.
constexpr int clog2(int n) { return n <= 2 ? 1 : 1 + clog2((n + 1) / 2); }

// The element type of BITS bits: ap_int when SIGNED, else ap_uint.
template <int BITS, bool SIGNED>
struct elem {
  typedef ap_int<BITS> type;
};
template <int BITS>
struct elem<BITS, false> {
  typedef ap_uint<BITS> type;
};

// Native integers of 8, 16, 32 or 64 bits.
template <int BITS, bool SIGNED> struct native;
template <> struct native<8, true> { typedef int8_t type; };
template <> struct native<8, false> { typedef uint8_t type; };
template <> struct native<16, true> { typedef int16_t type; };
template <> struct native<16, false> { typedef uint16_t type; };
template <> struct native<32, true> { typedef int32_t type; };
template <> struct native<32, false> { typedef uint32_t type; };
template <> struct native<64, true> { typedef int64_t type; };
template <> struct native<64, false> { typedef uint64_t type; };

// The storage type of a generated const array (weights, thresholds) of BITS-bit
// elements; a kernel converts each element it reads to elem<BITS, SIGNED>::type, so the
// arithmetic is the same either way. In synthesis (Vitis HLS defines __SYNTHESIS__) it is
// that ap_int / ap_uint itself: the ROMs are exactly BITS wide (CS_EXACT_ROMS gives g++
// the same view). In C-simulation it is the smallest native integer holding BITS bits: a
// native array is static data, where tens of thousands of ap_int elements
// (non-constexpr constructors) make g++ compile a dynamic initializer for minutes.
template <int BITS, bool SIGNED>
struct rom {
#if defined(__SYNTHESIS__) || defined(CS_EXACT_ROMS)
  typedef typename elem<BITS, SIGNED>::type type;
#else
  static_assert(BITS >= 1 && BITS <= 64, "a const array element has 1 to 64 bits");
  typedef typename native<BITS <= 8 ? 8 : BITS <= 16 ? 16 : BITS <= 32 ? 32 : 64,
                          SIGNED>::type type;
#endif
};

// Element i of a word, read as SIGNED or unsigned BITS-bit integer.
template <int BITS, bool SIGNED, int W>
typename elem<BITS, SIGNED>::type get(const ap_uint<W>& word, int i) {
#pragma HLS INLINE
  ap_uint<BITS> raw = word.range(i * BITS + BITS - 1, i * BITS);
  typename elem<BITS, SIGNED>::type v = raw;  // same width: the bit pattern is kept
  return v;
}

// Write the low BITS bits of v (two's complement) into element i of a word.
template <int BITS, int W, typename T>
void set(ap_uint<W>& word, int i, const T& v) {
#pragma HLS INLINE
  ap_uint<BITS> raw = v;  // truncates to BITS bits (wraps, as the RTL does)
  word.range(i * BITS + BITS - 1, i * BITS) = raw;
}

}  // namespace cs

#endif
