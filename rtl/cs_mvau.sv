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
// -> accumulate (+ first threshold ROM read) -> B = $clog2(N_THRES+1) binary-search
// stages (cs_thresh_search; N_THRES = 0: none) -> 2-deep output cs_fifo. Latency from
// the last input word of a vector to its first output word: 4 + max(B-1, 0) cycles.
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
    parameter WEIGHT_FILE = "weights.mem",
    parameter THRESH_FILE = "thresholds"
) (
    input  logic                ap_clk,
    input  logic                ap_rst_n,
    input  logic                s_axis_tvalid,
    output logic                s_axis_tready,
    input  logic [((SIMD*IN_BITS+7)/8)*8-1:0] s_axis_tdata,
    output logic                m_axis_tvalid,
    input  logic                m_axis_tready,
    output logic [((PE*OUT_BITS+7)/8)*8-1:0] m_axis_tdata,
    output logic                ovf
);
  localparam int OUT_WORD = ((PE * OUT_BITS + 7) / 8) * 8;
  localparam int SF = MW / SIMD;
  localparam int NF = MH / PE;
  localparam int NW = NF * SF;  // weight ROM words
  localparam int XW = SIMD * IN_BITS;  // payload of an input word
  localparam int WW = PE * SIMD * W_BITS;  // one weight ROM word
  localparam int PW = IN_BITS + 1 + W_BITS;  // exact product width (input made signed)
  localparam int DW = PW + $clog2(SIMD + 1);  // exact SIMD dot-product width
  localparam int EW = PW + $clog2(MW + 1) + 1;  // exact (shadow) accumulator width
  localparam int SFB = (SF > 1) ? $clog2(SF) : 1;
  localparam int NFB = (NF > 1) ? $clog2(NF) : 1;
  localparam int NWB = (NW > 1) ? $clog2(NW) : 1;

  // ---------------------------------------------------------------- ROMs and buffers
  logic [WW-1:0] wrom[0:NW-1];
  initial $readmemh(WEIGHT_FILE, wrom);

  logic [XW-1:0] ibuf[0:SF-1];  // input vector, reused for folds nf = 1..NF-1

  // ---------------------------------------------------------------- stage 0: issue
  logic fifo_ready;  // registered not-full flag of the output FIFO
  logic adv;  // the whole pipeline moves one step
  logic issue;  // a (nf, sf) step enters the pipeline
  logic [SFB-1:0] sf;
  logic [NFB-1:0] nf;
  logic [NWB-1:0] wa;  // = nf*SF + sf
  logic need_in;

  assign adv = fifo_ready;
  assign need_in = (nf == '0);
  assign s_axis_tready = need_in && fifo_ready;
  assign issue = adv && (!need_in || s_axis_tvalid);

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
    if (issue && need_in) ibuf[sf] <= s_axis_tdata[XW-1:0];
    if (adv) begin
      s1_x <= need_in ? s_axis_tdata[XW-1:0] : ibuf[sf];
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
  logic [PE*ACC_BITS-1:0] s2_dot;  // wrapped SIMD dot product per PE
  logic [PE*DW-1:0] s2_dotx;  // exact, for the overflow monitor only

  for (genvar p = 0; p < PE; p++) begin : g_pe
    logic signed [PW-1:0] prod;
    logic [ACC_BITS-1:0] dot;
    logic signed [DW-1:0] dotx;
    always_comb begin
      dot = '0;
      dotx = '0;
      for (int s = 0; s < SIMD; s++) begin
        // XNOR: a match counts 1, (b_x*b_w + 1)/2 of the bipolar values; the
        // concatenation keeps the XNOR 1 bit wide (a cast would widen its operands)
        if (XNOR) prod = PW'({s1_x[s*IN_BITS] ~^ s1_w[(p*SIMD+s)*W_BITS]});
        else if (IN_SIGNED)
          prod = PW'($signed(s1_x[s*IN_BITS+:IN_BITS])) *
                    PW'($signed(s1_w[(p*SIMD+s)*W_BITS+:W_BITS]));
        else
          prod = $signed(PW'(s1_x[s*IN_BITS+:IN_BITS])) *
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
    always_comb begin
      act_word = '0;
      for (int p = 0; p < PE; p++) begin
        if (ACC_SIGNED) act_word[p*OUT_BITS+:OUT_BITS] = OUT_BITS'($signed(acc[p*ACC_BITS+:ACC_BITS]));
        else act_word[p*OUT_BITS+:OUT_BITS] = OUT_BITS'(acc[p*ACC_BITS+:ACC_BITS]);
      end
    end
  end else begin : g_act
    // binary search over the thresholds, B = $clog2(N_THRES + 1) stages; its first ROM is
    // read together with the last accumulation of a word, so it lines up with acc
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
    if (OUT_WORD > PE * OUT_BITS) begin : g_pad
      assign act_word[OUT_WORD-1:PE*OUT_BITS] = '0;
    end
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
