// cs_mvau -- matrix-vector-activation unit (FINN MVAU semantics), AXI-Stream in and out.
//
// Computes, per input vector x (MW elements), y[r] = act(sum_c x[c] * W[c][r]) for the
// MH output rows, folded over PE rows x SIMD columns per cycle:
// SF = MW/SIMD input words per vector, NF = MH/PE output words per vector.
//
// Parameters
//   MW, MH            matrix width (inputs) and height (outputs)
//   PE, SIMD          rows and columns per cycle; MH % PE == 0, MW % SIMD == 0
//   N_VECTORS         FINN numInputVectors (vectors per image); informational only: the
//                     kernel processes an unbounded stream of vectors
//   IN_BITS           input element width; IN_SIGNED: input is two's complement
//   W_BITS            weight width (weights are signed)
//   ACC_BITS          accumulator width. Products and sums really are computed in
//                     ACC_BITS and wrap (two's complement), like a squeezed hardware
//                     accumulator. ACC_SIGNED selects how the ACC_BITS pattern is read
//                     (sign extension, threshold compare, overflow range).
//   OUT_BITS          output element width. N_THRES = 0: the accumulator extended to
//                     OUT_BITS (OUT_BITS >= ACC_BITS). Else ACT_BIAS + count (<= 32 bits).
//   N_THRES           0 = no activation, else thresholds per output channel (ascending)
//   THR_BITS          threshold width; thresholds are signed iff ACC_SIGNED. At least
//                     ACC_BITS + 1 (the default), which holds every useful threshold
//                     (clip_thresholds) and the search padding, ACC max + 1
//   ACT_BIAS          FINN ActVal added to the threshold count (output signed iff < 0)
//   XNOR              0 = integer products x*w. 1 = FINN's binaryXnorMode: inputs and
//                     weights are 1-bit codes of bipolar values (0 = -1, 1 = +1; needs
//                     IN_BITS = W_BITS = 1, IN_SIGNED = 0), each product is XNOR(x, w)
//                     and the accumulator counts the matches (a popcount, 0..MW; use
//                     ACC_SIGNED = 0 and ACC_BITS >= $clog2(MW+1), which never wraps);
//                     thresholds compare the count
//   USE_DSP           1: the products are multiplications for the synthesis tool's DSP
//                     mapping (FINN resType "dsp"); 0: coded in LUTs (resType "lut"), see
//                     cs_mac_lanes
//   OVF_MONITOR       0: no overflow monitor, ovf stays low (the generated top's choice
//                     where it leaves ovf unconnected), see cs_mac_lanes
//   WEIGHT_FILE       $readmemh file, NF*SF lines of PE*SIMD*W_BITS bits: line nf*SF+sf,
//                     weight of row r = nf*PE+p, column c = sf*SIMD+s at bit (p*SIMD+s)*W_BITS
//   THRESH_FILE       base name of the threshold ROM files (N_THRES > 0): one $readmemh
//                     file per binary-search stage and PE lane, {THRESH_FILE, "_s", h,
//                     "_p", llll, ".mem"} for stage h = 0..$clog2(N_THRES+1)-1 as one
//                     and lane llll = 0..PE-1 as four lower-case hex digits; format in
//                     cs_thresh_search (codesign.backends.words.write_thresh_mem)
// Ports
//   ap_clk, ap_rst_n  clock, synchronous active-low reset
//   s_axis_*          input words: SIMD elements, element s at [s*IN_BITS +: IN_BITS],
//                     tdata width SIMD*IN_BITS rounded up to bytes (pad bits ignored)
//   m_axis_*          output words: PE elements, element p at [p*OUT_BITS +: OUT_BITS],
//                     tdata width PE*OUT_BITS rounded up to bytes (pad bits zero)
//   ovf               sticky overflow flag (cleared by reset): set when some partial sum
//                     (after any SIMD fold) of some row, computed exactly in a wider
//                     shadow accumulator, falls outside the ACC_BITS range. The shadow
//                     logic only drives ovf, so synthesis removes it when ovf is unused.
//
// Timing: the input vector is written to an SF-word buffer while it streams in (nf = 0)
// and read back for nf = 1..NF-1, so every input word is consumed once and the next
// vector is accepted right after the last fold: steady-state II = NF*SF cycles per vector.
// Pipeline: issue (counters, input mux, weight ROM read) -> products + SIMD adder tree
// -> accumulate (+ first threshold ROM read), all in cs_mac_lanes -> B = $clog2(N_THRES+1)
// binary-search stages (cs_thresh_search; N_THRES = 0: none) -> 2-deep output cs_fifo,
// both in cs_act_tail. This module only buffers and re-reads the input vector. Latency
// from the last input word of a vector to its first output word: 4 + max(B-1, 0) cycles.
// All pipeline registers advance together while the output FIFO is not full; its
// registered not-full flag is the only backpressure signal (the FIFO accepts whenever the
// pipeline moves, however deep), so no combinational path runs from m_axis_tready to
// s_axis_tready or from s_axis_tvalid to m_axis_tvalid.
module cs_mvau #(
    parameter int MW = 4,
    parameter int MH = 4,
    parameter int PE = 1,
    parameter int SIMD = 1,
    /* verilator lint_off UNUSEDPARAM */
    parameter int N_VECTORS = 1,
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
    parameter bit XNOR = 1'b0,
    parameter bit USE_DSP = 1'b1,
    parameter bit OVF_MONITOR = 1'b1,
    parameter WEIGHT_FILE = "weights.mem",
    parameter THRESH_FILE = "thresholds"
) (
    input  logic                                      ap_clk,
    input  logic                                      ap_rst_n,
    input  logic                                      s_axis_tvalid,
    output logic                                      s_axis_tready,
    input  logic [cs_pkg::tdata_bits(SIMD*IN_BITS)-1:0] s_axis_tdata,
    output logic                                      m_axis_tvalid,
    input  logic                                      m_axis_tready,
    output logic [ cs_pkg::tdata_bits(PE*OUT_BITS)-1:0] m_axis_tdata,
    output logic                                      ovf
);
  localparam int SF = MW / SIMD;
  localparam int NF = MH / PE;
  localparam int XW = SIMD * IN_BITS;  // payload of an input word

  logic ready;  // the output is not full: the whole pipeline moves one step
  logic need_in;  // the step at hand reads the stream (nf = 0), else the buffer
  logic [cs_pkg::cnt_bits(SF)-1:0] sf;
  logic [cs_pkg::cnt_bits(NF)-1:0] nf, nf_next;
  // the input vector, written while it streams in and re-read for nf = 1..NF-1
  logic [XW-1:0] ibuf[0:SF-1];
  logic step;  // a step enters the datapath
  logic [XW-1:0] x;  // its input elements
  logic acc_valid;
  logic [PE*ACC_BITS-1:0] acc;

  assign need_in = (nf == '0);
  assign s_axis_tready = need_in && ready;
  assign step = !need_in || s_axis_tvalid;
  assign x = need_in ? s_axis_tdata[XW-1:0] : ibuf[sf];

  always_ff @(posedge ap_clk) begin
    if (ready && need_in && step) ibuf[sf] <= s_axis_tdata[XW-1:0];
  end

  cs_mac_lanes #(
      .PE(PE),
      .SIMD(SIMD),
      .SF(SF),
      .NF(NF),
      .DEPTHWISE(1'b0),
      .IN_BITS(IN_BITS),
      .IN_SIGNED(IN_SIGNED),
      .W_BITS(W_BITS),
      .ACC_BITS(ACC_BITS),
      .ACC_SIGNED(ACC_SIGNED),
      .XNOR(XNOR),
      .USE_DSP(USE_DSP),
      .OVF_MONITOR(OVF_MONITOR),
      .WEIGHT_FILE(WEIGHT_FILE)
  ) u_mac (
      .ap_clk(ap_clk),
      .ap_rst_n(ap_rst_n),
      .en(ready),
      .step(step),
      .x(x),
      .sf(sf),
      .nf(nf),
      .nf_next(nf_next),
      .out_valid(acc_valid),
      .acc(acc),
      .ovf(ovf)
  );

  // the first threshold ROM is read together with the last accumulation of a word, so
  // the search lines up with acc
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
