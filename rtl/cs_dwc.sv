// cs_dwc -- AXI-Stream data-width converter: words of IN_ELEMS elements in, words of
// OUT_ELEMS elements out, element order preserved (element 0 in the LSBs, first word
// first). Any IN_ELEMS/OUT_ELEMS pair works (integer ratio either way or not); the
// stream length in elements should be a multiple of OUT_ELEMS, or the tail stays inside.
//
// Parameters
//   IN_ELEMS, OUT_ELEMS  elements per input / output word
//   ELEM_BITS            bits per element
// Ports
//   ap_clk, ap_rst_n     clock, synchronous active-low reset
//   s_axis_*             tdata width IN_ELEMS*ELEM_BITS rounded up to bytes (pad ignored)
//   m_axis_*             tdata width OUT_ELEMS*ELEM_BITS rounded up to bytes (pad zero)
//
// An element buffer of BUF = IN + OUT + max(IN, OUT) - gcd(IN, OUT) elements holds `cnt`
// valid elements in its low end (the rest kept zero). It accepts a word when
// cnt + IN <= BUF and offers the low OUT elements when cnt >= OUT; both flags come from
// registers, so there is no combinational ready/valid path through the kernel. That
// buffer size is the smallest of this form that keeps full throughput (one word per
// cycle on the narrower side) for every ratio up to 16:16 (checked by simulation).
module cs_dwc #(
    parameter int IN_ELEMS = 1,
    parameter int OUT_ELEMS = 1,
    parameter int ELEM_BITS = 8
) (
    input  logic                                     ap_clk,
    input  logic                                     ap_rst_n,
    input  logic                                     s_axis_tvalid,
    output logic                                     s_axis_tready,
    input  logic [ cs_pkg::tdata_bits(IN_ELEMS*ELEM_BITS)-1:0] s_axis_tdata,
    output logic                                     m_axis_tvalid,
    input  logic                                     m_axis_tready,
    output logic [cs_pkg::tdata_bits(OUT_ELEMS*ELEM_BITS)-1:0] m_axis_tdata
);
  function automatic int gcd(input int a, input int b);
    int x, y, t;
    x = a;
    y = b;
    for (int i = 0; i < 64; i++) begin  // bounded loop: constant functions in Yosys
      if (y != 0) begin
        t = x % y;
        x = y;
        y = t;
      end
    end
    gcd = x;  // (Yosys 0.23 has no `return`)
  endfunction

  localparam int MAXE = (IN_ELEMS > OUT_ELEMS) ? IN_ELEMS : OUT_ELEMS;
  localparam int BUF = IN_ELEMS + OUT_ELEMS + MAXE - gcd(IN_ELEMS, OUT_ELEMS);
  localparam int BW = BUF * ELEM_BITS;
  localparam int CNTW = $clog2(BUF + 1);
  localparam int OW = cs_pkg::tdata_bits(OUT_ELEMS * ELEM_BITS);  // m_axis tdata width

  logic [BW-1:0] buffer, shifted, incoming;
  logic [CNTW-1:0] cnt, base;
  logic push, pop;

  assign s_axis_tready = (cnt <= CNTW'(BUF - IN_ELEMS));
  assign m_axis_tvalid = (cnt >= CNTW'(OUT_ELEMS));
  assign push = s_axis_tvalid && s_axis_tready;
  assign pop = m_axis_tvalid && m_axis_tready;

  // continuous assigns (event-driven nets) rather than always_comb: cheaper in Icarus
  assign m_axis_tdata = OW'(buffer[OUT_ELEMS*ELEM_BITS-1:0]);
  assign shifted = pop ? (buffer >> (OUT_ELEMS * ELEM_BITS)) : buffer;
  assign base = pop ? cnt - CNTW'(OUT_ELEMS) : cnt;
  assign incoming = BW'(s_axis_tdata[IN_ELEMS*ELEM_BITS-1:0]) << (base * ELEM_BITS);

  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) begin
      buffer <= '0;
      cnt <= '0;
    end else begin
      buffer <= push ? (shifted | incoming) : shifted;
      cnt <= base + (push ? CNTW'(IN_ELEMS) : '0);
    end
  end
endmodule
