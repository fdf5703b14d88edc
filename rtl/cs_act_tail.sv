// cs_act_tail -- the activation tail of cs_mvau, cs_vvau and cs_thresholding: PE values
// through the multi-threshold activation (cs_thresh_search) or extended unchanged, then
// the 2-deep output cs_fifo, whose registered not-full flag stalls the caller's pipeline.
//
// Parameters
//   PE, NF                  lanes per word and channel folds (NF*PE channels)
//   DATA_BITS, DATA_SIGNED  the values (two's complement when signed)
//   N_THRES                 0: y = x extended by its signedness to OUT_BITS (OUT_BITS >=
//                           DATA_BITS); else the thresholds per channel (cs_thresh_search)
//   THR_BITS, ACT_BIAS, THRESH_FILE: cs_thresh_search's (unused when N_THRES = 0)
//   OUT_BITS                output element width
// Ports
//   ap_clk, ap_rst_n        clock, synchronous active-low reset
//   ready                   the output FIFO is not full (registered): the caller's
//                           pipeline, and this tail, advance this cycle
//   nf_next                 channel fold of the values that arrive on x at the next ready
//                           cycle (the first threshold ROM is read one cycle ahead)
//   in_valid, x             values, lane p at [p*DATA_BITS +: DATA_BITS], registered by
//                           the caller and sampled when ready
//   m_axis_*                output words, lane p at [p*OUT_BITS +: OUT_BITS], tdata width
//                           rounded up to bytes (pad bits zero)
//
// Latency: max(B-1, 0) ready cycles through the search (B = $clog2(N_THRES+1)), then the
// FIFO's one cycle to m_axis_tvalid.
module cs_act_tail #(
    parameter int PE = 1,
    parameter int NF = 1,
    parameter int DATA_BITS = 8,
    parameter bit DATA_SIGNED = 1'b1,
    parameter int N_THRES = 0,
    parameter int THR_BITS = DATA_BITS + 1,
    parameter int ACT_BIAS = 0,
    parameter int OUT_BITS = 8,
    parameter THRESH_FILE = "thresholds"
) (
    input  logic                                     ap_clk,
    input  logic                                     ap_rst_n,
    output logic                                     ready,
    input  logic [         cs_pkg::cnt_bits(NF)-1:0] nf_next,
    input  logic                                     in_valid,
    input  logic [                  PE*DATA_BITS-1:0] x,
    output logic                                     m_axis_tvalid,
    input  logic                                     m_axis_tready,
    output logic [cs_pkg::tdata_bits(PE*OUT_BITS)-1:0] m_axis_tdata
);
  localparam int OUT_WORD = cs_pkg::tdata_bits(PE * OUT_BITS);

  logic [OUT_WORD-1:0] act_word;
  logic act_valid;  // act_word holds a finished output word

  if (N_THRES == 0) begin : g_noact
    assign act_valid = in_valid;
    for (genvar p = 0; p < PE; p++) begin : g_ext
      if (DATA_SIGNED) begin : g_s
        assign act_word[p*OUT_BITS+:OUT_BITS] = OUT_BITS'($signed(x[p*DATA_BITS+:DATA_BITS]));
      end else begin : g_u
        assign act_word[p*OUT_BITS+:OUT_BITS] = OUT_BITS'(x[p*DATA_BITS+:DATA_BITS]);
      end
    end
  end else begin : g_act
    cs_thresh_search #(
        .PE(PE),
        .NF(NF),
        .DATA_BITS(DATA_BITS),
        .DATA_SIGNED(DATA_SIGNED),
        .THR_BITS(THR_BITS),
        .N_THRES(N_THRES),
        .ACT_BIAS(ACT_BIAS),
        .OUT_BITS(OUT_BITS),
        .THRESH_FILE(THRESH_FILE)
    ) u_thr (
        .ap_clk(ap_clk),
        .ap_rst_n(ap_rst_n),
        .en(ready),
        .nf_next(nf_next),
        .in_valid(in_valid),
        .x(x),
        .out_valid(act_valid),
        .y(act_word[PE*OUT_BITS-1:0])
    );
  end
  if (OUT_WORD > PE * OUT_BITS) begin : g_pad
    assign act_word[OUT_WORD-1:PE*OUT_BITS] = '0;
  end

  cs_fifo #(
      .WIDTH(OUT_WORD),
      .DEPTH(2)
  ) u_out (
      .ap_clk(ap_clk),
      .ap_rst_n(ap_rst_n),
      .s_axis_tvalid(act_valid),
      .s_axis_tready(ready),
      .s_axis_tdata(act_word),
      .m_axis_tvalid(m_axis_tvalid),
      .m_axis_tready(m_axis_tready),
      .m_axis_tdata(m_axis_tdata)
  );
endmodule
