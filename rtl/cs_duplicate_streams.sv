// cs_duplicate_streams -- one AXI-Stream copied to N_OUT output streams (FINN
// DuplicateStreams: the fork in front of a residual block's two branches).
//
// Each output has its own cs_fifo of DEPTH words. A word is accepted when every output
// FIFO has room and is then written to all of them at once, so the outputs drain
// independently: a consumer that stalls for up to DEPTH-1 words does not stall the others
// (FINN's HLS DuplicateStreams writes all outputs in one step, in lock-step). A consumer
// that stays stalled still stops the input once its FIFO is full, as it must: every
// output carries every word.
//
// Parameters
//   PE, ELEM_BITS     elements per word and their width (the payload; pad bits above
//                     PE*ELEM_BITS are not stored and are zero on every output)
//   N_OUT             output streams used, 1..4 (ports m0_axis .. m3_axis; the ports of
//                     outputs N_OUT..3 may be left unconnected: tvalid low, tready
//                     ignored; codesign.kernels.duplicate_streams refuses more outputs)
//   DEPTH             words per output FIFO, >= 2 (2 sustains one word per cycle)
// Ports
//   ap_clk, ap_rst_n  clock, synchronous active-low reset
//   s_axis_*          input words, tdata width PE*ELEM_BITS rounded up to bytes
//   m<i>_axis_*       output i, the same words in the same order
//
// Timing: one word per cycle in and out when no output stalls; latency 1 cycle (the
// FIFOs' output registers). s_axis_tready is the AND of the FIFOs' registered not-full
// flags: no combinational path from any m<i>_axis_tready to s_axis_tready, and all
// outputs are flip-flops.
module cs_duplicate_streams #(
    parameter int PE = 1,
    parameter int ELEM_BITS = 8,
    parameter int N_OUT = 2,
    parameter int DEPTH = 2
) (
    input  logic                                  ap_clk,
    input  logic                                  ap_rst_n,
    input  logic                                  s_axis_tvalid,
    output logic                                  s_axis_tready,
    input  logic [cs_pkg::tdata_bits(PE*ELEM_BITS)-1:0] s_axis_tdata,
    output logic                                  m0_axis_tvalid,
    input  logic                                  m0_axis_tready,
    output logic [cs_pkg::tdata_bits(PE*ELEM_BITS)-1:0] m0_axis_tdata,
    output logic                                  m1_axis_tvalid,
    input  logic                                  m1_axis_tready,
    output logic [cs_pkg::tdata_bits(PE*ELEM_BITS)-1:0] m1_axis_tdata,
    output logic                                  m2_axis_tvalid,
    input  logic                                  m2_axis_tready,
    output logic [cs_pkg::tdata_bits(PE*ELEM_BITS)-1:0] m2_axis_tdata,
    output logic                                  m3_axis_tvalid,
    input  logic                                  m3_axis_tready,
    output logic [cs_pkg::tdata_bits(PE*ELEM_BITS)-1:0] m3_axis_tdata
);
  localparam int MAX_OUT = 4;
  localparam int XW = PE * ELEM_BITS;  // payload
  localparam int WORD = cs_pkg::tdata_bits(XW);

  logic [MAX_OUT-1:0] room;  // output FIFO i can take a word (unused outputs: 1)
  logic [MAX_OUT-1:0] ov, ordy;
  logic [MAX_OUT*XW-1:0] od;  // output i's word at [i*XW +: XW]
  logic push;

  assign s_axis_tready = &room;
  assign push = s_axis_tvalid && s_axis_tready;
  assign ordy = {m3_axis_tready, m2_axis_tready, m1_axis_tready, m0_axis_tready};

  for (genvar i = 0; i < MAX_OUT; i++) begin : g_out
    if (i < N_OUT) begin : g_used
      cs_fifo #(
          .WIDTH(XW),
          .DEPTH(DEPTH)
      ) u_fifo (
          .ap_clk(ap_clk),
          .ap_rst_n(ap_rst_n),
          .s_axis_tvalid(push),
          .s_axis_tready(room[i]),
          .s_axis_tdata(s_axis_tdata[XW-1:0]),
          .m_axis_tvalid(ov[i]),
          .m_axis_tready(ordy[i]),
          .m_axis_tdata(od[i*XW+:XW])
      );
    end else begin : g_unused
      assign room[i] = 1'b1;
      assign ov[i] = 1'b0;
      assign od[i*XW+:XW] = '0;
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
