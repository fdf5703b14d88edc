// cs_elementwise_add -- elementwise sum of two AXI-Streams (FINN ElementwiseAdd with two
// streamed operands of one shape: the join of a residual block).
//
// Word i of the output is, per lane p, lhs[p] + rhs[p] of word i of each input, computed
// exactly and truncated (two's complement wrap) to OUT_BITS. FINN derives an out_dtype
// that holds every sum, so with it nothing wraps.
//
// Parameters
//   PE                     elements per word, on all three streams
//   LHS_BITS, LHS_SIGNED   lhs element width and signedness (s0_axis)
//   RHS_BITS, RHS_SIGNED   rhs element width and signedness (s1_axis)
//   OUT_BITS               output element width; OUT_SIGNED: informational (the sum's
//   OUT_SIGNED             bit pattern is the same either way)
// Ports
//   ap_clk, ap_rst_n       clock, synchronous active-low reset
//   s0_axis_*              lhs words, lane p at [p*LHS_BITS +: LHS_BITS], tdata rounded
//                          up to bytes (pad bits ignored)
//   s1_axis_*              rhs words, lane p at [p*RHS_BITS +: RHS_BITS], likewise
//   m_axis_*               sums, lane p at [p*OUT_BITS +: OUT_BITS] (pad bits zero)
//
// Timing: each input has its own 2-word cs_fifo, so s0_axis_tready and s1_axis_tready are
// registered not-full flags that do not depend on the other input's tvalid; the two
// inputs may run up to two words apart. A sum is formed when both FIFOs hold a word and
// the output register is free or being emptied; one word per cycle without stalls,
// latency 2 cycles. Outputs are flip-flops.
module cs_elementwise_add #(
    parameter int PE = 1,
    parameter int LHS_BITS = 8,
    parameter bit LHS_SIGNED = 1'b0,
    parameter int RHS_BITS = 8,
    parameter bit RHS_SIGNED = 1'b0,
    parameter int OUT_BITS = 9,
    /* verilator lint_off UNUSEDPARAM */
    parameter bit OUT_SIGNED = 1'b0
    /* verilator lint_on UNUSEDPARAM */
) (
    input  logic                                 ap_clk,
    input  logic                                 ap_rst_n,
    input  logic                                 s0_axis_tvalid,
    output logic                                 s0_axis_tready,
    input  logic [cs_pkg::tdata_bits(PE*LHS_BITS)-1:0] s0_axis_tdata,
    input  logic                                 s1_axis_tvalid,
    output logic                                 s1_axis_tready,
    input  logic [cs_pkg::tdata_bits(PE*RHS_BITS)-1:0] s1_axis_tdata,
    output logic                                 m_axis_tvalid,
    input  logic                                 m_axis_tready,
    output logic [cs_pkg::tdata_bits(PE*OUT_BITS)-1:0] m_axis_tdata
);
  localparam int OUT_WORD = cs_pkg::tdata_bits(PE * OUT_BITS);
  localparam int AW = PE * LHS_BITS;
  localparam int BW = PE * RHS_BITS;
  // exact sum width: both operands made signed, plus the carry
  localparam int LW = LHS_BITS + (LHS_SIGNED ? 0 : 1);
  localparam int RW = RHS_BITS + (RHS_SIGNED ? 0 : 1);
  localparam int SW = ((LW > RW) ? LW : RW) + 1;

  logic a_valid, b_valid, a_pop;
  logic [AW-1:0] a;
  logic [BW-1:0] b;

  cs_fifo #(
      .WIDTH(AW),
      .DEPTH(2)
  ) u_lhs (
      .ap_clk(ap_clk),
      .ap_rst_n(ap_rst_n),
      .s_axis_tvalid(s0_axis_tvalid),
      .s_axis_tready(s0_axis_tready),
      .s_axis_tdata(s0_axis_tdata[AW-1:0]),
      .m_axis_tvalid(a_valid),
      .m_axis_tready(a_pop),
      .m_axis_tdata(a)
  );
  cs_fifo #(
      .WIDTH(BW),
      .DEPTH(2)
  ) u_rhs (
      .ap_clk(ap_clk),
      .ap_rst_n(ap_rst_n),
      .s_axis_tvalid(s1_axis_tvalid),
      .s_axis_tready(s1_axis_tready),
      .s_axis_tdata(s1_axis_tdata[BW-1:0]),
      .m_axis_tvalid(b_valid),
      .m_axis_tready(a_pop),
      .m_axis_tdata(b)
  );

  // both operands present and the output register free (or emptied this cycle)
  assign a_pop = a_valid && b_valid && (!m_axis_tvalid || m_axis_tready);

  logic [PE*OUT_BITS-1:0] sum;
  for (genvar p = 0; p < PE; p++) begin : g_lane
    logic signed [SW-1:0] av, bv, sv;
    if (LHS_SIGNED) begin : g_as
      assign av = SW'($signed(a[p*LHS_BITS+:LHS_BITS]));
    end else begin : g_au
      assign av = $signed(SW'(a[p*LHS_BITS+:LHS_BITS]));
    end
    if (RHS_SIGNED) begin : g_bs
      assign bv = SW'($signed(b[p*RHS_BITS+:RHS_BITS]));
    end else begin : g_bu
      assign bv = $signed(SW'(b[p*RHS_BITS+:RHS_BITS]));
    end
    assign sv = av + bv;
    assign sum[p*OUT_BITS+:OUT_BITS] = OUT_BITS'(sv);  // sign-extends or wraps
  end

  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) m_axis_tvalid <= 1'b0;
    else if (!m_axis_tvalid || m_axis_tready) m_axis_tvalid <= a_valid && b_valid;
  end
  always_ff @(posedge ap_clk) begin
    if (a_pop) m_axis_tdata <= OUT_WORD'(sum);
  end
endmodule
