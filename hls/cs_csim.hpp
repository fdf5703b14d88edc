// cs_csim.hpp -- C-simulation harness helpers (g++ only, never synthesized).
//
// The generated csim main (codesign.backends.hls) reads the test-vector files the RTL
// testbench reads (one hex stream word per line, codesign.backends.vectors), calls
// accel_top once per frame and compares every output word with the expected file. It
// prints one JSON object on stdout: frames, words compared, mismatches, the first
// mismatch, stream errors (words missing, extra or not consumed) and the seconds spent in
// accel_top.
#ifndef CS_CSIM_HPP
#define CS_CSIM_HPP

#include <ap_int.h>
#include <hls_stream.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace cs {
namespace csim {

template <int W>
std::string hex(const ap_uint<W>& v) {
  const int digits = (W + 3) / 4;
  std::string s(digits, '0');
  for (int i = 0; i < digits; i++) {
    const unsigned d = ((v >> (4 * i)) & ap_uint<W>(15)).to_uint();
    s[digits - 1 - i] = "0123456789abcdef"[d];
  }
  return s;
}

// Every word of a hex vectors file; exits with a message naming the file and line on a
// malformed or too wide word.
template <int W>
std::vector<ap_uint<W>> read_hex(const std::string& path) {
  std::ifstream f(path.c_str());
  if (!f) {
    std::cerr << "csim: cannot read " << path << std::endl;
    std::exit(2);
  }
  std::vector<ap_uint<W>> words;
  std::string line;
  int n = 0;
  while (f >> line) {
    n++;
    if ((int)line.size() > (W + 3) / 4) {
      std::cerr << "csim: " << path << " line " << n << ": word wider than " << W << " bits"
                << std::endl;
      std::exit(2);
    }
    ap_uint<W> v = 0;
    for (size_t i = 0; i < line.size(); i++) {
      const char c = line[i];
      int d;
      if (c >= '0' && c <= '9') d = c - '0';
      else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
      else {
        std::cerr << "csim: " << path << " line " << n << ": not a hex word" << std::endl;
        std::exit(2);
      }
      v = (v << 4) | ap_uint<W>(d);
    }
    words.push_back(v);
  }
  return words;
}

template <int W>
void write_hex(const std::string& path, const std::vector<ap_uint<W>>& words) {
  std::ofstream f(path.c_str());
  for (size_t i = 0; i < words.size(); i++) f << hex(words[i]) << "\n";
}

// What a run found, printed as JSON.
struct Report {
  long frames = 0;
  long words = 0;
  long mismatches = 0;
  std::string first;  // JSON object of the first mismatch, empty if none
  std::vector<std::string> errors;
  double seconds = 0.0;

  void error(const std::string& what) {
    if (errors.size() < 20) errors.push_back(what);
  }

  void print() const {
    std::cout << "{\"frames\": " << frames << ", \"words\": " << words
              << ", \"mismatches\": " << mismatches
              << ", \"first_mismatch\": " << (first.empty() ? "null" : first)
              << ", \"seconds\": " << seconds << ", \"errors\": [";
    for (size_t i = 0; i < errors.size(); i++)
      std::cout << (i ? ", " : "") << "\"" << errors[i] << "\"";
    std::cout << "]}" << std::endl;
  }
};

// Feed frame f's words of one input port.
template <int W>
void feed(hls::stream<ap_uint<W>>& s, const std::vector<ap_uint<W>>& words, long frame,
          long wpf) {
  for (long i = 0; i < wpf; i++) s.write(words[frame * wpf + i]);
}

// After a call: the kernel must have read exactly the frame's words.
template <int W>
void check_consumed(hls::stream<ap_uint<W>>& s, const char* port, long frame, Report& r) {
  long left = 0;
  while (!s.empty()) {
    s.read();
    left++;
  }
  if (left) {
    std::ostringstream m;
    m << port << ": frame " << frame << " left " << left << " input words unread";
    r.error(m.str());
  }
}

// After a call: take frame f's words of one output port (recorded in `got`); a short or
// long frame is an error.
template <int W>
void drain(hls::stream<ap_uint<W>>& s, std::vector<ap_uint<W>>& got, const char* port,
           long frame, long wpf, Report& r) {
  long n = 0;
  while (!s.empty()) {
    ap_uint<W> v = s.read();
    if (n < wpf) got.push_back(v);
    n++;
  }
  for (long i = n; i < wpf; i++) got.push_back(ap_uint<W>(0));
  if (n != wpf) {
    std::ostringstream m;
    m << port << ": frame " << frame << " gave " << n << " words, expected " << wpf;
    r.error(m.str());
  }
}

// Compare one output port's words with the expected file's, frame by frame.
template <int W>
void compare(const std::vector<ap_uint<W>>& got, const std::vector<ap_uint<W>>& want,
             const char* port, long wpf, Report& r) {
  for (size_t i = 0; i < got.size() && i < want.size(); i++) {
    r.words++;
    if (got[i] != want[i]) {
      if (r.mismatches == 0) {
        std::ostringstream m;
        m << "{\"port\": \"" << port << "\", \"frame\": " << (long)i / wpf
          << ", \"word\": " << (long)i % wpf << ", \"expected\": \"" << hex(want[i])
          << "\", \"got\": \"" << hex(got[i]) << "\"}";
        r.first = m.str();
      }
      r.mismatches++;
    }
  }
  if (want.size() < got.size()) {
    std::ostringstream m;
    m << port << ": expected file holds " << want.size() << " words, the run gave "
      << got.size();
    r.error(m.str());
  }
}

inline double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace csim
}  // namespace cs

#endif
