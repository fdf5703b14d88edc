// cs_split -- channel split of one AXI-Stream into N_OUT streams (FINN StreamingSplit: a
// Split on the last axis of NHWC tensors).
//
// Per pixel the input carries FOLD0 words for output 0, then FOLD1 words for output 1,
// ..., FOLD<N_OUT-1> words for the last output (FOLD<i> = ChannelsPerStream[i] / SIMD);
// each word goes unchanged to the output whose turn it is.
//
// Each output has its own 2-word cs_fifo, so a consumer that stalls holds up the input
// only once its FIFO is full and its turn comes: the others drain independently.
//
// Parameters
//   SIMD, ELEM_BITS   elements per word and their width, on every stream (the payload;
//                     pad bits above SIMD*ELEM_BITS are not stored and are zero on every
//                     output)
//   N_OUT             output streams used, 1..4 (ports m0_axis .. m3_axis; the ports of
//                     outputs N_OUT..3 may be left unconnected: tvalid low, tready
//                     ignored; codesign.kernels.split refuses more outputs)
//   FOLD<i>           words of output i per pixel, >= 1
// Ports
//   ap_clk, ap_rst_n  clock, synchronous active-low reset
//   s_axis_*          input words, tdata width SIMD*ELEM_BITS rounded up to bytes
//   m<i>_axis_*       output i, the words of its channels in input order
//
// Timing: one input word per cycle without stalls, so a frame takes pixels * sum(FOLD<i>)
// cycles (FINN's get_exp_cycles); latency 1 cycle (the FIFOs' output registers).
// s_axis_tready is the registered not-full flag of the FIFO whose turn it is (selected
// by the turn register): no combinational path from any m<i>_axis_tready or from
// s_axis_tvalid to s_axis_tready, and all outputs are flip-flops.
module cs_split #(
    parameter int SIMD = 1,
    parameter int ELEM_BITS = 8,
    parameter int N_OUT = 2,
    parameter int FOLD0 = 1,
    parameter int FOLD1 = 1,
    parameter int FOLD2 = 1,
    parameter int FOLD3 = 1
) (
    input  logic                                          ap_clk,
    input  logic                                          ap_rst_n,
    input  logic                                          s_axis_tvalid,
    output logic                                          s_axis_tready,
    input  logic [cs_pkg::tdata_bits(SIMD*ELEM_BITS)-1:0] s_axis_tdata,
    output logic                                          m0_axis_tvalid,
    input  logic                                          m0_axis_tready,
    output logic [cs_pkg::tdata_bits(SIMD*ELEM_BITS)-1:0] m0_axis_tdata,
    output logic                                          m1_axis_tvalid,
    input  logic                                          m1_axis_tready,
    output logic [cs_pkg::tdata_bits(SIMD*ELEM_BITS)-1:0] m1_axis_tdata,
    output logic                                          m2_axis_tvalid,
    input  logic                                          m2_axis_tready,
    output logic [cs_pkg::tdata_bits(SIMD*ELEM_BITS)-1:0] m2_axis_tdata,
    output logic                                          m3_axis_tvalid,
    input  logic                                          m3_axis_tready,
    output logic [cs_pkg::tdata_bits(SIMD*ELEM_BITS)-1:0] m3_axis_tdata
);
  localparam int MAX_OUT = 4;
  localparam int XW = SIMD * ELEM_BITS;  // payload
  localparam int WORD = cs_pkg::tdata_bits(XW);
  localparam int F01 = (FOLD0 > FOLD1) ? FOLD0 : FOLD1;
  localparam int F23 = (FOLD2 > FOLD3) ? FOLD2 : FOLD3;
  localparam int CW = cs_pkg::cnt_bits((F01 > F23) ? F01 : F23);

  logic [MAX_OUT-1:0] room;  // output FIFO i can take a word (unused outputs: 0)
  logic [MAX_OUT-1:0] push, last, ov, ordy;
  logic [MAX_OUT*XW-1:0] od;  // output i's word at [i*XW +: XW]
  logic [1:0] sel;  // whose turn it is
  logic [CW-1:0] cnt;  // words of this turn passed on
  logic take;

  assign s_axis_tready = room[sel];
  assign take = s_axis_tvalid && room[sel];
  assign ordy = {m3_axis_tready, m2_axis_tready, m1_axis_tready, m0_axis_tready};

  for (genvar i = 0; i < MAX_OUT; i++) begin : g_out
    localparam int FI = (i == 0) ? FOLD0 : (i == 1) ? FOLD1 : (i == 2) ? FOLD2 : FOLD3;
    assign last[i] = (cnt == CW'(FI - 1));
    assign push[i] = s_axis_tvalid && (sel == 2'(i));
    if (i < N_OUT) begin : g_used
      cs_fifo #(
          .WIDTH(XW),
          .DEPTH(2)
      ) u_fifo (
          .ap_clk(ap_clk),
          .ap_rst_n(ap_rst_n),
          .s_axis_tvalid(push[i]),
          .s_axis_tready(room[i]),
          .s_axis_tdata(s_axis_tdata[XW-1:0]),
          .m_axis_tvalid(ov[i]),
          .m_axis_tready(ordy[i]),
          .m_axis_tdata(od[i*XW+:XW])
      );
    end else begin : g_unused
      assign room[i] = 1'b0;
      assign ov[i] = 1'b0;
      assign od[i*XW+:XW] = '0;
    end
  end

  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) begin
      sel <= '0;
      cnt <= '0;
    end else if (take) begin
      cnt <= last[sel] ? '0 : cnt + 1'b1;
      if (last[sel]) sel <= (sel == 2'(N_OUT - 1)) ? '0 : sel + 1'b1;
    end
  end

  assign m0_axis_tvalid = ov[0];
  assign m1_axis_tvalid = ov[1];
  assign m2_axis_tvalid = ov[2];
  assign m3_axis_tvalid = ov[3];
  assign m0_axis_tdata = WORD'(od[0*XW+:XW]);
  assign m1_axis_tdata = WORD'(od[1*XW+:XW]);
  assign m2_axis_tdata = WORD'(od[2*XW+:XW]);
  assign m3_axis_tdata = WORD'(od[3*XW+:XW]);
endmodule
