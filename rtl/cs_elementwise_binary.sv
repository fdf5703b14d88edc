// cs_elementwise_binary -- elementwise binary operation of two AXI-Streams, or of one
// stream and a constant held in a ROM (FINN ElementwiseAdd / Sub / Mul / Max / AbsDiff:
// the join of a residual block, a per-channel or scalar integer offset or scale).
//
// Word i of the output is, per lane p, lhs[p] OP rhs[p] of word i of each operand,
// computed exactly and truncated (two's complement wrap) to OUT_BITS. FINN derives an
// out_dtype that holds every result, so with it nothing wraps.
//
// Parameters
//   OP                     0 add, 1 sub (lhs - rhs), 2 mul, 3 max, 4 absdiff |lhs - rhs|
//                          (codesign.dataflow.kernels.elementwise_binary.OPS)
//   PE                     elements per word, on every stream and ROM word
//   LHS_BITS, LHS_SIGNED   lhs element width and signedness (s0_axis, or the ROM)
//   RHS_BITS, RHS_SIGNED   rhs element width and signedness (s1_axis, or the ROM)
//   OUT_BITS               output element width; OUT_SIGNED: informational (the result's
//   OUT_SIGNED             bit pattern is the same either way)
//   LHS_CONST, RHS_CONST   at most one set: that operand comes from the ROM and its port
//                          is unused (tready low, tvalid/tdata ignored)
//   CONST_WORDS            ROM words: the constant's period in stream words; word i of
//                          the stream takes ROM word i mod CONST_WORDS
//   CONST_FILE             $readmemh file of the ROM (a constant operand only):
//                          CONST_WORDS lines of PE elements, lane p at [p*BITS +: BITS]
//                          (codesign.backends.words.write_weight_mem with MW = SIMD = 1)
// Ports
//   ap_clk, ap_rst_n       clock, synchronous active-low reset
//   s0_axis_*              lhs words, lane p at [p*LHS_BITS +: LHS_BITS], tdata rounded
//                          up to bytes (pad bits ignored)
//   s1_axis_*              rhs words, lane p at [p*RHS_BITS +: RHS_BITS], likewise
//   m_axis_*               results, lane p at [p*OUT_BITS +: OUT_BITS] (pad bits zero)
//
// Timing: each streamed input has its own 2-word cs_fifo, so its tready is a registered
// not-full flag that does not depend on the other input's tvalid; two inputs may run up
// to two words apart. The ROM is read synchronously (block or LUT RAM) at the address of
// the next word, so its word waits in a register, always valid. A result is formed when
// both operands are present and the output register is free or being emptied; one word
// per cycle without stalls, latency 2 cycles. Outputs are flip-flops.
module cs_elementwise_binary #(
    parameter int OP = 0,
    parameter int PE = 1,
    parameter int LHS_BITS = 8,
    parameter bit LHS_SIGNED = 1'b0,
    parameter int RHS_BITS = 8,
    parameter bit RHS_SIGNED = 1'b0,
    parameter int OUT_BITS = 9,
    /* verilator lint_off UNUSEDPARAM */
    parameter bit OUT_SIGNED = 1'b0,
    /* verilator lint_on UNUSEDPARAM */
    parameter bit LHS_CONST = 1'b0,
    parameter bit RHS_CONST = 1'b0,
    parameter int CONST_WORDS = 1,
    parameter CONST_FILE = ""
) (
    input  logic                                       ap_clk,
    input  logic                                       ap_rst_n,
    input  logic                                       s0_axis_tvalid,
    output logic                                       s0_axis_tready,
    input  logic [cs_pkg::tdata_bits(PE*LHS_BITS)-1:0] s0_axis_tdata,
    input  logic                                       s1_axis_tvalid,
    output logic                                       s1_axis_tready,
    input  logic [cs_pkg::tdata_bits(PE*RHS_BITS)-1:0] s1_axis_tdata,
    output logic                                       m_axis_tvalid,
    input  logic                                       m_axis_tready,
    output logic [cs_pkg::tdata_bits(PE*OUT_BITS)-1:0] m_axis_tdata
);
  localparam int OUT_WORD = cs_pkg::tdata_bits(PE * OUT_BITS);
  localparam int AW = PE * LHS_BITS;
  localparam int BW = PE * RHS_BITS;
  localparam int CW = LHS_CONST ? AW : BW;  // ROM word
  // both operands made signed; their sum of widths holds every result of every OP
  localparam int LW = LHS_BITS + (LHS_SIGNED ? 0 : 1);
  localparam int RW = RHS_BITS + (RHS_SIGNED ? 0 : 1);
  localparam int SW = LW + RW;

  logic a_valid, b_valid, pop;
  logic [AW-1:0] a;
  logic [BW-1:0] b;
  logic [CW-1:0] c;  // the constant operand's word for the next result

  // both operands present and the output register free (or emptied this cycle)
  assign pop = a_valid && b_valid && (!m_axis_tvalid || m_axis_tready);

  if (LHS_CONST || RHS_CONST) begin : g_rom
    localparam int IB = cs_pkg::cnt_bits(CONST_WORDS);
    logic [CW-1:0] rom[0:CONST_WORDS-1];
    logic [IB-1:0] idx, idx_next;
    logic idx_last;
    initial $readmemh(CONST_FILE, rom);
    cs_counter #(
        .N(CONST_WORDS)
    ) u_idx (
        .ap_clk(ap_clk),
        .ap_rst_n(ap_rst_n),
        .inc(pop),
        .q(idx),
        .last(idx_last)
    );
    // read the word of the next result; after reset idx = 0 and nothing pops before
    // an input word reaches its FIFO's output, so c holds word 0 in time
    assign idx_next = !pop ? idx : idx_last ? '0 : idx + 1'b1;
    always_ff @(posedge ap_clk) c <= rom[idx_next];
  end else begin : g_no_rom
    assign c = '0;
  end

  if (LHS_CONST) begin : g_lhs_const
    assign a = c[AW-1:0];
    assign a_valid = 1'b1;
    assign s0_axis_tready = 1'b0;
  end else begin : g_lhs
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
        .m_axis_tready(pop),
        .m_axis_tdata(a)
    );
  end
  if (RHS_CONST) begin : g_rhs_const
    assign b = c[BW-1:0];
    assign b_valid = 1'b1;
    assign s1_axis_tready = 1'b0;
  end else begin : g_rhs
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
        .m_axis_tready(pop),
        .m_axis_tdata(b)
    );
  end

  logic [PE*OUT_BITS-1:0] y;
  for (genvar p = 0; p < PE; p++) begin : g_lane
    logic signed [SW-1:0] av, bv, rv;
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
    if (OP == 0) begin : g_add
      assign rv = av + bv;
    end else if (OP == 1) begin : g_sub
      assign rv = av - bv;
    end else if (OP == 2) begin : g_mul
      assign rv = av * bv;
    end else if (OP == 3) begin : g_max
      assign rv = (av > bv) ? av : bv;
    end else begin : g_absdiff
      assign rv = (av > bv) ? av - bv : bv - av;
    end
    assign y[p*OUT_BITS+:OUT_BITS] = OUT_BITS'(rv);  // sign-extends or wraps
  end

  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) m_axis_tvalid <= 1'b0;
    else if (!m_axis_tvalid || m_axis_tready) m_axis_tvalid <= a_valid && b_valid;
  end
  always_ff @(posedge ap_clk) begin
    if (pop) m_axis_tdata <= OUT_WORD'(y);
  end
endmodule
