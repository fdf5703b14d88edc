// cs_pkg -- width helpers shared by the rtl/ kernels (constant functions, usable in port
// declarations: `input logic [cs_pkg::tdata_bits(PE*BITS)-1:0] s_axis_tdata`).
//
// A package must be compiled before the modules that use it: codesign.backends.rtl
// .module_sources follows `cs_pkg::` references and lists packages first. Functions
// assign their name instead of `return <ternary>`, which Yosys does not parse.
package cs_pkg;
  // AXI-Stream tdata width of `bits` payload bits: rounded up to whole bytes
  // (codesign.backends.words.tdata_bits, cs::tdata_bits in hls/cs_common.hpp)
  function automatic int tdata_bits(input int bits);
    tdata_bits = ((bits + 7) / 8) * 8;
  endfunction

  // bits of a counter or index holding 0 .. n-1: $clog2(n), at least 1
  function automatic int cnt_bits(input int n);
    cnt_bits = (n > 1) ? $clog2(n) : 1;
  endfunction
endpackage
