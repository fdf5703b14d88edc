// cs_concat -- channel concatenation of N_IN AXI-Streams (FINN StreamingConcat: a Concat
// on the last axis of NHWC tensors).
//
// Per pixel the output carries FOLD0 words of input 0, then FOLD1 words of input 1, ...,
// FOLD<N_IN-1> words of the last input (FOLD<i> = ChannelsPerStream[i] / SIMD), in turn:
// input i is read only on its turn. Each element is sign- (SIGNED<i>) or zero-extended
// from BITS<i> to OUT_BITS: FINN's output type holds every input type, so the values are
// unchanged.
//
// Parameters
//   SIMD                 elements per word, on every stream
//   N_IN                 input streams used, 1..4 (ports s0_axis .. s3_axis; the ports of
//                        inputs N_IN..3 may be left unconnected: tready low, tvalid and
//                        tdata ignored; codesign.kernels.concat refuses more inputs)
//   OUT_BITS             output element width, >= every BITS<i>
//   FOLD<i>              words of input i per pixel, >= 1
//   BITS<i>, SIGNED<i>   element width and signedness of input i
// Ports
//   ap_clk, ap_rst_n     clock, synchronous active-low reset
//   s<i>_axis_*          input i, lane p at [p*BITS<i> +: BITS<i>], tdata rounded up to
//                        bytes (pad bits ignored)
//   m_axis_*             the concatenated words, lane p at [p*OUT_BITS +: OUT_BITS] (pad
//                        bits zero)
//
// Timing: one word per cycle without stalls, so a frame takes pixels * sum(FOLD<i>)
// cycles (FINN's get_exp_cycles); latency 1 cycle (the output cs_fifo's register).
// s<i>_axis_tready is the output FIFO's registered not-full flag gated by the turn
// register: no combinational path from m_axis_tready or any tvalid to any tready, and
// all outputs are flip-flops.
module cs_concat #(
    parameter int SIMD = 1,
    parameter int N_IN = 2,
    parameter int OUT_BITS = 8,
    parameter int FOLD0 = 1,
    parameter int BITS0 = 8,
    parameter bit SIGNED0 = 1'b0,
    parameter int FOLD1 = 1,
    parameter int BITS1 = 8,
    parameter bit SIGNED1 = 1'b0,
    parameter int FOLD2 = 1,
    parameter int BITS2 = 8,
    parameter bit SIGNED2 = 1'b0,
    parameter int FOLD3 = 1,
    parameter int BITS3 = 8,
    parameter bit SIGNED3 = 1'b0
) (
    input  logic                                      ap_clk,
    input  logic                                      ap_rst_n,
    input  logic                                      s0_axis_tvalid,
    output logic                                      s0_axis_tready,
    input  logic [cs_pkg::tdata_bits(SIMD*BITS0)-1:0] s0_axis_tdata,
    input  logic                                      s1_axis_tvalid,
    output logic                                      s1_axis_tready,
    input  logic [cs_pkg::tdata_bits(SIMD*BITS1)-1:0] s1_axis_tdata,
    input  logic                                      s2_axis_tvalid,
    output logic                                      s2_axis_tready,
    input  logic [cs_pkg::tdata_bits(SIMD*BITS2)-1:0] s2_axis_tdata,
    input  logic                                      s3_axis_tvalid,
    output logic                                      s3_axis_tready,
    input  logic [cs_pkg::tdata_bits(SIMD*BITS3)-1:0] s3_axis_tdata,
    output logic                                      m_axis_tvalid,
    input  logic                                      m_axis_tready,
    output logic [cs_pkg::tdata_bits(SIMD*OUT_BITS)-1:0] m_axis_tdata
);
  localparam int MAX_IN = 4;
  localparam int OW = SIMD * OUT_BITS;  // output payload
  localparam int OUT_WORD = cs_pkg::tdata_bits(OW);
  localparam int MAX01 = (BITS0 > BITS1) ? BITS0 : BITS1;
  localparam int MAX23 = (BITS2 > BITS3) ? BITS2 : BITS3;
  localparam int RW = SIMD * ((MAX01 > MAX23) ? MAX01 : MAX23);  // widest input payload
  localparam int F01 = (FOLD0 > FOLD1) ? FOLD0 : FOLD1;
  localparam int F23 = (FOLD2 > FOLD3) ? FOLD2 : FOLD3;
  localparam int CW = cs_pkg::cnt_bits((F01 > F23) ? F01 : F23);

  logic [MAX_IN*RW-1:0] raw;  // input i's payload at [i*RW +: RW], zero-extended
  logic [MAX_IN*OW-1:0] wide;  // input i's word, elements extended to OUT_BITS
  logic [MAX_IN-1:0] iv, last;  // input i's tvalid; the turn's word is its last (cnt)
  logic [1:0] sel;  // whose turn it is
  logic [CW-1:0] cnt;  // words of this turn taken
  logic room, take;

  assign raw = {RW'(s3_axis_tdata), RW'(s2_axis_tdata), RW'(s1_axis_tdata),
                RW'(s0_axis_tdata)};
  assign iv = {s3_axis_tvalid, s2_axis_tvalid, s1_axis_tvalid, s0_axis_tvalid};

  for (genvar i = 0; i < MAX_IN; i++) begin : g_in
    localparam int BI = (i == 0) ? BITS0 : (i == 1) ? BITS1 : (i == 2) ? BITS2 : BITS3;
    localparam bit SI = (i == 0) ? SIGNED0 : (i == 1) ? SIGNED1 : (i == 2) ? SIGNED2 : SIGNED3;
    localparam int FI = (i == 0) ? FOLD0 : (i == 1) ? FOLD1 : (i == 2) ? FOLD2 : FOLD3;
    assign last[i] = (cnt == CW'(FI - 1));
    for (genvar p = 0; p < SIMD; p++) begin : g_lane
      if (SI) begin : g_s
        assign wide[i*OW+p*OUT_BITS+:OUT_BITS] = OUT_BITS'($signed(raw[i*RW+p*BI+:BI]));
      end else begin : g_u
        assign wide[i*OW+p*OUT_BITS+:OUT_BITS] = OUT_BITS'(raw[i*RW+p*BI+:BI]);
      end
    end
  end

  // only the input whose turn it is sees tready, and only while the FIFO has room
  assign s0_axis_tready = room && (sel == 2'd0);
  assign s1_axis_tready = room && (sel == 2'd1);
  assign s2_axis_tready = room && (sel == 2'd2);
  assign s3_axis_tready = room && (sel == 2'd3);
  assign take = room && iv[sel];

  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) begin
      sel <= '0;
      cnt <= '0;
    end else if (take) begin
      cnt <= last[sel] ? '0 : cnt + 1'b1;
      if (last[sel]) sel <= (sel == 2'(N_IN - 1)) ? '0 : sel + 1'b1;
    end
  end

  logic [OW-1:0] od;
  cs_fifo #(
      .WIDTH(OW),
      .DEPTH(2)
  ) u_out (
      .ap_clk(ap_clk),
      .ap_rst_n(ap_rst_n),
      .s_axis_tvalid(iv[sel]),
      .s_axis_tready(room),
      .s_axis_tdata(wide[sel*OW+:OW]),
      .m_axis_tvalid(m_axis_tvalid),
      .m_axis_tready(m_axis_tready),
      .m_axis_tdata(od)
  );
  assign m_axis_tdata = OUT_WORD'(od);
endmodule
