// cs_thresholding -- multi-threshold activation (FINN Thresholding / MultiThreshold):
// y[c] = ACT_BIAS + count(t : x[c] >= thr[c][t]), PE channels per word.
//
// Parameters
//   C              channels; channel fold CF = C/PE words per pixel (C % PE == 0)
//   PE             channels per word
//   N_THRES        thresholds per channel (1 .. 65535), ascending
//   IN_BITS        input element width; IN_SIGNED: input is two's complement
//   THR_BITS       threshold width; thresholds are signed iff IN_SIGNED. At least
//                  IN_BITS + 1 (the default), which holds every useful threshold
//                  (clip_thresholds) and the search padding, input max + 1
//   ACT_BIAS       FINN ActVal added to the count (output signed iff < 0)
//   OUT_BITS       output element width (<= 32)
//   THRESH_FILE    base name of the threshold ROM files: one $readmemh file per binary-
//                  search stage and PE lane, {THRESH_FILE, "_s", h, "_p", llll, ".mem"}
//                  for stage h = 0..$clog2(N_THRES+1)-1 as one and lane llll = 0..PE-1
//                  as four lower-case hex digits; format in cs_thresh_search
//                  (codesign.backends.words.write_thresh_mem)
// Ports
//   ap_clk, ap_rst_n  clock, synchronous active-low reset
//   s_axis_*          PE elements of IN_BITS per word (element p at [p*IN_BITS +: IN_BITS]),
//                     tdata width rounded up to bytes, pad bits ignored
//   m_axis_*          PE elements of OUT_BITS per word, pad bits zero
//
// Words cycle through the channel folds cf = 0..CF-1 forever (one pixel per CF words).
// One word per cycle: input register + first threshold ROM read, B = $clog2(N_THRES+1)
// binary-search stages (cs_thresh_search), 2-deep output cs_fifo (both in cs_act_tail,
// as for cs_mvau and cs_vvau) whose registered
// not-full flag is the only stall signal for the whole pipeline (no combinational ready
// or valid path through the kernel). Latency: 1 + B cycles from input to output handshake
// opportunity (m_axis_tvalid).
module cs_thresholding #(
    parameter int C = 4,
    parameter int PE = 1,
    parameter int N_THRES = 1,
    parameter int IN_BITS = 8,
    parameter bit IN_SIGNED = 1'b0,
    parameter int THR_BITS = IN_BITS + 1,
    parameter int ACT_BIAS = 0,
    parameter int OUT_BITS = 8,
    parameter THRESH_FILE = "thresholds"
) (
    input  logic                                      ap_clk,
    input  logic                                      ap_rst_n,
    input  logic                                      s_axis_tvalid,
    output logic                                      s_axis_tready,
    input  logic [ cs_pkg::tdata_bits(PE*IN_BITS)-1:0] s_axis_tdata,
    output logic                                      m_axis_tvalid,
    input  logic                                      m_axis_tready,
    output logic [cs_pkg::tdata_bits(PE*OUT_BITS)-1:0] m_axis_tdata
);
  localparam int CF = C / PE;

  logic ready;
  logic [cs_pkg::cnt_bits(CF)-1:0] cf;
  logic s1_valid;
  logic [PE*IN_BITS-1:0] s1_x;

  assign s_axis_tready = ready;

  always_ff @(posedge ap_clk) begin
    if (ready) s1_x <= s_axis_tdata[PE*IN_BITS-1:0];
  end
  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) s1_valid <= 1'b0;
    else if (ready) s1_valid <= s_axis_tvalid;
  end
  cs_counter #(
      .N(CF)
  ) u_cf (
      .ap_clk(ap_clk),
      .ap_rst_n(ap_rst_n),
      .inc(ready && s_axis_tvalid),
      .q(cf),
      .last()
  );

  // the first search ROM is read at cf while the word enters s1_x
  cs_act_tail #(
      .PE(PE),
      .NF(CF),
      .DATA_BITS(IN_BITS),
      .DATA_SIGNED(IN_SIGNED),
      .N_THRES(N_THRES),
      .THR_BITS(THR_BITS),
      .ACT_BIAS(ACT_BIAS),
      .OUT_BITS(OUT_BITS),
      .THRESH_FILE(THRESH_FILE)
  ) u_act (
      .ap_clk(ap_clk),
      .ap_rst_n(ap_rst_n),
      .ready(ready),
      .nf_next(cf),
      .in_valid(s1_valid),
      .x(s1_x),
      .m_axis_tvalid(m_axis_tvalid),
      .m_axis_tready(m_axis_tready),
      .m_axis_tdata(m_axis_tdata)
  );
endmodule
