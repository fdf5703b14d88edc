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
// get_exp_cycles: C*K2/(PE*SIMD) per pixel). Pipeline as cs_mvau: issue (counters, weight
// ROM read) -> products + SIMD adder tree -> accumulate (+ first threshold ROM read) ->
// B = $clog2(N_THRES+1) binary-search stages -> 2-deep output cs_fifo. Latency from the
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
    parameter WEIGHT_FILE = "weights.mem",
    parameter THRESH_FILE = "thresholds"
) (
    input  logic                ap_clk,
    input  logic                ap_rst_n,
    input  logic                s_axis_tvalid,
    output logic                s_axis_tready,
    input  logic [((SIMD*PE*IN_BITS+7)/8)*8-1:0] s_axis_tdata,
    output logic                m_axis_tvalid,
    input  logic                m_axis_tready,
    output logic [((PE*OUT_BITS+7)/8)*8-1:0] m_axis_tdata,
    output logic                ovf
);
  localparam int OUT_WORD = ((PE * OUT_BITS + 7) / 8) * 8;
  localparam int SF = K2 / SIMD;
  localparam int NF = C / PE;
  localparam int NW = NF * SF;  // weight ROM words
  localparam int XW = SIMD * PE * IN_BITS;  // payload of an input word
  localparam int WW = PE * SIMD * W_BITS;  // one weight ROM word
  localparam int PW = IN_BITS + 1 + W_BITS;  // exact product width (input made signed)
  localparam int DW = PW + $clog2(SIMD + 1);  // exact SIMD dot-product width
  localparam int EW = PW + $clog2(K2 + 1) + 1;  // exact (shadow) accumulator width
  localparam int SFB = (SF > 1) ? $clog2(SF) : 1;
  localparam int NFB = (NF > 1) ? $clog2(NF) : 1;
  localparam int NWB = (NW > 1) ? $clog2(NW) : 1;

  logic [WW-1:0] wrom[0:NW-1];
  initial $readmemh(WEIGHT_FILE, wrom);

  // ---------------------------------------------------------------- stage 0: issue
  logic fifo_ready;  // registered not-full flag of the output FIFO
  logic adv;  // the whole pipeline moves one step
  logic issue;  // an input word enters the pipeline
  logic [SFB-1:0] sf;
  logic [NFB-1:0] nf;
  logic [NWB-1:0] wa;  // = nf*SF + sf

  assign adv = fifo_ready;
  assign s_axis_tready = fifo_ready;
  assign issue = adv && s_axis_tvalid;

  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) begin
      sf <= '0;
      nf <= '0;
      wa <= '0;
    end else if (issue) begin
      if (sf == SFB'(SF - 1)) begin
        sf <= '0;
        nf <= (nf == NFB'(NF - 1)) ? '0 : nf + 1'b1;
      end else begin
        sf <= sf + 1'b1;
      end
      wa <= (wa == NWB'(NW - 1)) ? '0 : wa + 1'b1;
    end
  end

  // ---------------------------------------------------------------- stage 1
  logic s1_valid, s1_first, s1_last;
  logic [NFB-1:0] s1_nf;
  logic [XW-1:0] s1_x;
  logic [WW-1:0] s1_w;

  always_ff @(posedge ap_clk) begin
    if (adv) begin
      s1_x <= s_axis_tdata[XW-1:0];
      s1_w <= wrom[wa];
      s1_first <= (sf == '0);
      s1_last <= (sf == SFB'(SF - 1));
      s1_nf <= nf;
    end
  end
  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) s1_valid <= 1'b0;
    else if (adv) s1_valid <= issue;
  end

  // ---------------------------------------------------------------- stage 2: dot products
  logic s2_valid, s2_first, s2_last;
  logic [NFB-1:0] s2_nf;
  logic [PE*ACC_BITS-1:0] s2_dot;  // wrapped SIMD dot product per PE lane
  logic [PE*DW-1:0] s2_dotx;  // exact, for the overflow monitor only

  for (genvar p = 0; p < PE; p++) begin : g_pe
    logic signed [PW-1:0] prod;
    logic [ACC_BITS-1:0] dot;
    logic signed [DW-1:0] dotx;
    // lane p's window elements s*PE+p against its weights p*SIMD+s
    always_comb begin
      dot = '0;
      dotx = '0;
      for (int s = 0; s < SIMD; s++) begin
        if (IN_SIGNED)
          prod = PW'($signed(s1_x[(s*PE+p)*IN_BITS+:IN_BITS])) *
                    PW'($signed(s1_w[(p*SIMD+s)*W_BITS+:W_BITS]));
        else
          prod = $signed(PW'(s1_x[(s*PE+p)*IN_BITS+:IN_BITS])) *
                    PW'($signed(s1_w[(p*SIMD+s)*W_BITS+:W_BITS]));
        dot = dot + ACC_BITS'(prod);  // wraps at ACC_BITS
        dotx = dotx + DW'(prod);
      end
    end
    always_ff @(posedge ap_clk) begin
      if (adv) begin
        s2_dot[p*ACC_BITS+:ACC_BITS] <= dot;
        s2_dotx[p*DW+:DW] <= dotx;
      end
    end
  end

  always_ff @(posedge ap_clk) begin
    if (adv) begin
      s2_first <= s1_first;
      s2_last <= s1_last;
      s2_nf <= s1_nf;
    end
  end
  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) s2_valid <= 1'b0;
    else if (adv) s2_valid <= s1_valid;
  end

  // ---------------------------------------------------------------- stage 3: accumulate
  logic s3_out;  // acc holds a finished output word
  logic [PE*ACC_BITS-1:0] acc;
  logic [PE*EW-1:0] accx;
  logic [PE-1:0] part_ovf;

  for (genvar p = 0; p < PE; p++) begin : g_acc
    logic [ACC_BITS-1:0] base;
    logic signed [EW-1:0] basex, nextx;
    // continuous assigns, not always_comb: Icarus would make an always_comb with these
    // constant part-selects sensitive to every lane's accumulator
    assign base = s2_first ? '0 : acc[p*ACC_BITS+:ACC_BITS];
    assign basex = s2_first ? '0 : $signed(accx[p*EW+:EW]);
    assign nextx = basex + EW'($signed(s2_dotx[p*DW+:DW]));
    always_ff @(posedge ap_clk) begin
      if (adv && s2_valid) begin
        acc[p*ACC_BITS+:ACC_BITS] <= base + s2_dot[p*ACC_BITS+:ACC_BITS];
        accx[p*EW+:EW] <= nextx;
      end
    end
    // nextx outside the ACC_BITS range <=> its bits above the range are not all equal
    // to the sign (signed) / not all zero (unsigned)
    if (EW > ACC_BITS) begin : g_chk
      if (ACC_SIGNED) begin : g_s
        assign part_ovf[p] = (nextx[EW-1:ACC_BITS-1] != '0) && (nextx[EW-1:ACC_BITS-1] != '1);
      end else begin : g_u
        assign part_ovf[p] = (nextx[EW-1:ACC_BITS] != '0);
      end
    end else begin : g_nochk
      assign part_ovf[p] = 1'b0;
    end
  end

  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) begin
      s3_out <= 1'b0;
      ovf <= 1'b0;
    end else if (adv) begin
      s3_out <= s2_valid && s2_last;
      if (s2_valid && (part_ovf != '0)) ovf <= 1'b1;
    end
  end

  // ---------------------------------------------------------------- activation
  logic [OUT_WORD-1:0] act_word;
  logic act_valid;  // act_word holds a finished output word

  if (N_THRES == 0) begin : g_noact
    assign act_valid = s3_out;
    for (genvar p = 0; p < PE; p++) begin : g_ext
      if (ACC_SIGNED) begin : g_s
        assign act_word[p*OUT_BITS+:OUT_BITS] = OUT_BITS'($signed(acc[p*ACC_BITS+:ACC_BITS]));
      end else begin : g_u
        assign act_word[p*OUT_BITS+:OUT_BITS] = OUT_BITS'(acc[p*ACC_BITS+:ACC_BITS]);
      end
    end
  end else begin : g_act
    // binary search over the thresholds; its first ROM is read together with the last
    // accumulation of a word, so it lines up with acc
    cs_thresh_search #(
        .PE(PE),
        .NF(NF),
        .DATA_BITS(ACC_BITS),
        .DATA_SIGNED(ACC_SIGNED),
        .THR_BITS(THR_BITS),
        .N_THRES(N_THRES),
        .ACT_BIAS(ACT_BIAS),
        .OUT_BITS(OUT_BITS),
        .THRESH_FILE(THRESH_FILE)
    ) u_thr (
        .ap_clk(ap_clk),
        .ap_rst_n(ap_rst_n),
        .en(adv),
        .nf_next(s2_nf),
        .in_valid(s3_out),
        .x(acc),
        .out_valid(act_valid),
        .y(act_word[PE*OUT_BITS-1:0])
    );
  end
  if (OUT_WORD > PE * OUT_BITS) begin : g_pad
    assign act_word[OUT_WORD-1:PE*OUT_BITS] = '0;
  end

  // ---------------------------------------------------------------- output FIFO
  cs_fifo #(
      .WIDTH(OUT_WORD),
      .DEPTH(2)
  ) u_out (
      .ap_clk(ap_clk),
      .ap_rst_n(ap_rst_n),
      .s_axis_tvalid(act_valid),
      .s_axis_tready(fifo_ready),
      .s_axis_tdata(act_word),
      .m_axis_tvalid(m_axis_tvalid),
      .m_axis_tready(m_axis_tready),
      .m_axis_tdata(m_axis_tdata)
  );
endmodule
