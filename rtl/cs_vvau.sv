// cs_vvau -- vector-vector-activation unit (FINN VVAU semantics: depthwise convolution
// after a depthwise sliding-window generator), AXI-Stream in and out.
//
// Per output pixel and channel c (C channels, K2 = k_h*k_w kernel positions):
// y[c] = act(sum_k x[c][k] * W[k][c]), folded over PE channels x SIMD kernel positions
// per cycle: SF = K2/SIMD words per channel fold, NF = C/PE channel folds per pixel.
// Unlike cs_mvau every input word is used once (each channel has its own window), so
// there is no input buffer: NF*SF input words in, NF output words out per pixel.
//
// Parameters
//   K2, C             kernel positions (k_h*k_w) and channels
//   PE, SIMD          channels and kernel positions per cycle; C % PE == 0, K2 % SIMD == 0
//   N_PIXELS          output pixels per image (FINN Dim h*w); informational only: the
//                     kernel processes an unbounded stream of pixels
//   IN_BITS           input element width; IN_SIGNED: input is two's complement
//   W_BITS            weight width (weights are signed)
//   ACC_BITS          accumulator width. Products and sums really are computed in
//                     ACC_BITS and wrap (two's complement), like a squeezed hardware
//                     accumulator. ACC_SIGNED selects how the ACC_BITS pattern is read
//                     (sign extension, threshold compare, overflow range).
//   OUT_BITS          output element width. N_THRES = 0: the accumulator extended to
//                     OUT_BITS (OUT_BITS >= ACC_BITS). Else ACT_BIAS + count (<= 32 bits).
//   N_THRES           0 = no activation, else thresholds per channel (ascending)
//   THR_BITS          threshold width; thresholds are signed iff ACC_SIGNED. At least
//                     ACC_BITS + 1 (the default), see cs_mvau
//   ACT_BIAS          FINN ActVal added to the threshold count (output signed iff < 0)
//   USE_DSP           1: the products are multiplications for the synthesis tool's DSP
//                     mapping (FINN resType "dsp"); 0: coded in LUTs (resType "lut"), see
//                     cs_mac_lanes
//   OVF_MONITOR       0: no overflow monitor, ovf stays low (the generated top's choice
//                     where it leaves ovf unconnected), see cs_mac_lanes
//   WEIGHT_FILE       $readmemh file in the cs_mvau format for the (K2 x C) matrix
//                     W[k][c]: NF*SF lines of PE*SIMD*W_BITS bits; line nf*SF+sf holds the
//                     weight of channel nf*PE+p, kernel position sf*SIMD+s at bit
//                     (p*SIMD+s)*W_BITS (codesign.backends.words.write_weight_mem)
//   THRESH_FILE       base name of the threshold ROM files (N_THRES > 0), one per search
//                     stage and PE lane, as for cs_mvau (cs_thresh_search)
// Ports
//   ap_clk, ap_rst_n  clock, synchronous active-low reset
//   s_axis_*          input words: SIMD*PE elements of IN_BITS; element s*PE+p, at
//                     [(s*PE+p)*IN_BITS +: IN_BITS], is kernel position sf*SIMD+s of
//                     channel nf*PE+p for the word nf*SF+sf of a pixel (FINN's depthwise
//                     order: channel fold, then kernel position, then PE channels);
//                     tdata width rounded up to bytes (pad bits ignored)
//   m_axis_*          output words: PE elements, element p (channel nf*PE+p) at
//                     [p*OUT_BITS +: OUT_BITS], tdata rounded up to bytes (pad bits zero)
//   ovf               sticky overflow flag (cleared by reset): set when some partial sum
//                     (after any SIMD fold) of some channel, computed exactly in a wider
//                     shadow accumulator, falls outside the ACC_BITS range. The shadow
//                     logic only drives ovf, so synthesis removes it when ovf is unused.
//
// Timing: one input word per cycle, steady-state II = NF*SF cycles per pixel (FINN's
// get_exp_cycles: C*K2/(PE*SIMD) per pixel). Pipeline as cs_mvau, over the same
// cs_mac_lanes (DEPTHWISE: lane p reads its own elements s*PE+p) and cs_act_tail: issue
// (counters, weight ROM read) -> products + SIMD adder tree -> accumulate (+ first
// threshold ROM read) -> B = $clog2(N_THRES+1) binary-search stages -> 2-deep output
// cs_fifo. Latency from the
// last input word of a channel fold to its output word: 4 + max(B-1, 0) cycles. The
// pipeline advances while the output FIFO's registered not-full flag is high, the only
// backpressure signal: no combinational path between m_axis_tready and s_axis_tready.
module cs_vvau #(
    parameter int K2 = 9,
    parameter int C = 4,
    parameter int PE = 1,
    parameter int SIMD = 1,
    /* verilator lint_off UNUSEDPARAM */
    parameter int N_PIXELS = 1,
    /* verilator lint_on UNUSEDPARAM */
    parameter int IN_BITS = 8,
    parameter bit IN_SIGNED = 1'b0,
    parameter int W_BITS = 8,
    parameter int ACC_BITS = 24,
    parameter bit ACC_SIGNED = 1'b1,
    parameter int OUT_BITS = 24,
    parameter int N_THRES = 0,
    parameter int THR_BITS = ACC_BITS + 1,
    parameter int ACT_BIAS = 0,
    parameter bit USE_DSP = 1'b1,
    parameter bit OVF_MONITOR = 1'b1,
    parameter WEIGHT_FILE = "weights.mem",
    parameter THRESH_FILE = "thresholds"
) (
    input  logic                                         ap_clk,
    input  logic                                         ap_rst_n,
    input  logic                                         s_axis_tvalid,
    output logic                                         s_axis_tready,
    input  logic [cs_pkg::tdata_bits(SIMD*PE*IN_BITS)-1:0] s_axis_tdata,
    output logic                                         m_axis_tvalid,
    input  logic                                         m_axis_tready,
    output logic [    cs_pkg::tdata_bits(PE*OUT_BITS)-1:0] m_axis_tdata,
    output logic                                         ovf
);
  localparam int NF = C / PE;
  localparam int XW = SIMD * PE * IN_BITS;  // payload of an input word

  logic ready;  // the output is not full: the whole pipeline moves one step
  logic [cs_pkg::cnt_bits(NF)-1:0] nf_next;
  logic acc_valid;
  logic [PE*ACC_BITS-1:0] acc;

  assign s_axis_tready = ready;

  cs_mac_lanes #(
      .PE(PE),
      .SIMD(SIMD),
      .SF(K2 / SIMD),
      .NF(NF),
      .DEPTHWISE(1'b1),
      .IN_BITS(IN_BITS),
      .IN_SIGNED(IN_SIGNED),
      .W_BITS(W_BITS),
      .ACC_BITS(ACC_BITS),
      .ACC_SIGNED(ACC_SIGNED),
      .XNOR(1'b0),
      .USE_DSP(USE_DSP),
      .OVF_MONITOR(OVF_MONITOR),
      .WEIGHT_FILE(WEIGHT_FILE)
  ) u_mac (
      .ap_clk(ap_clk),
      .ap_rst_n(ap_rst_n),
      .en(ready),
      .step(s_axis_tvalid),
      .x(s_axis_tdata[XW-1:0]),
      .sf(),
      .nf(),
      .nf_next(nf_next),
      .out_valid(acc_valid),
      .acc(acc),
      .ovf(ovf)
  );

  cs_act_tail #(
      .PE(PE),
      .NF(NF),
      .DATA_BITS(ACC_BITS),
      .DATA_SIGNED(ACC_SIGNED),
      .N_THRES(N_THRES),
      .THR_BITS(THR_BITS),
      .ACT_BIAS(ACT_BIAS),
      .OUT_BITS(OUT_BITS),
      .THRESH_FILE(THRESH_FILE)
  ) u_act (
      .ap_clk(ap_clk),
      .ap_rst_n(ap_rst_n),
      .ready(ready),
      .nf_next(nf_next),
      .in_valid(acc_valid),
      .x(acc),
      .m_axis_tvalid(m_axis_tvalid),
      .m_axis_tready(m_axis_tready),
      .m_axis_tdata(m_axis_tdata)
  );
endmodule
