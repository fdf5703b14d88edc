// cs_mac_lanes -- the multiply-accumulate datapath of cs_mvau and cs_vvau: PE lanes of
// SIMD products each, a wrapping ACC_BITS accumulator per lane, its exact shadow sum and
// the sticky overflow flag; with the fold counters and the weight ROM that feed them.
//
// A step is one (nf, sf) fold: lane p adds the SIMD products of its input elements and
// its weights to its accumulator (cleared at sf = 0); after sf = SF-1 the accumulators
// hold the lanes' results for channel fold nf (rows / channels nf*PE + p).
//
// Parameters
//   PE, SIMD          lanes and products per lane and step
//   SF, NF            steps per result and results (channel folds) per round; the
//                     dot-product length is SF*SIMD (cs_mvau's MW, cs_vvau's K2)
//   DEPTHWISE         0: every lane reads the same SIMD input elements (x element s,
//                     cs_mvau); 1: each lane its own, element s*PE+p (cs_vvau)
//   IN_BITS, IN_SIGNED, W_BITS, ACC_BITS, ACC_SIGNED, XNOR, WEIGHT_FILE: as cs_mvau's
//                     (the ROM holds NF*SF words of PE*SIMD*W_BITS, read in order, one
//                     word per step)
//   USE_DSP           FINN's resType: 1 ("dsp") writes each product as a multiplication
//                     for the synthesis tool's DSP mapping; 0 ("lut") as the sum of the
//                     input shifted by each set weight bit (the top bit's subtracted), so
//                     no multiplier reaches a DSP mapper (Yosys maps only multiplication
//                     cells to DSPs) and the products stay in LUTs and carry chains.
//                     Both carry Vivado's use_dsp attribute ("yes" / "no") on the product.
// Ports
//   ap_clk, ap_rst_n  clock, synchronous active-low reset
//   en                the whole pipeline moves one step (the caller's output not full)
//   step, x           a step enters with its input elements x (SIMD, or SIMD*PE when
//                     DEPTHWISE, of IN_BITS), sampled when en && step
//   sf, nf            the fold of the next step (the caller's input buffer and stream
//                     reads follow them)
//   nf_next           channel fold of the results that reach acc at the next en
//                     (cs_thresh_search's first ROM read)
//   out_valid, acc    acc holds finished results, lane p at [p*ACC_BITS +: ACC_BITS]
//   ovf               sticky: some partial sum (after any SIMD fold) of some lane,
//                     computed exactly in a wider shadow accumulator, fell outside the
//                     ACC_BITS range. The shadow logic only drives ovf: OVF_MONITOR = 0
//                     leaves it out (ovf stays low), which a caller whose ovf is unused
//                     sets, so that no synthesis that keeps the hierarchy (and so cannot
//                     see ovf unused) builds it. An accumulator at least as wide as the
//                     shadow one needs no monitor: only a narrow one would pay for it.
//
// Pipeline: step -> stage 1 (x registered, weight ROM read) -> stage 2 (products + SIMD
// adder tree per lane) -> stage 3 (accumulate): out_valid 3 en cycles after the last step
// of a result.
module cs_mac_lanes #(
    parameter int PE = 1,
    parameter int SIMD = 1,
    parameter int SF = 1,
    parameter int NF = 1,
    parameter bit DEPTHWISE = 1'b0,
    parameter int IN_BITS = 8,
    parameter bit IN_SIGNED = 1'b0,
    parameter int W_BITS = 8,
    parameter int ACC_BITS = 24,
    parameter bit ACC_SIGNED = 1'b1,
    parameter bit XNOR = 1'b0,
    parameter bit USE_DSP = 1'b1,
    parameter bit OVF_MONITOR = 1'b1,
    parameter WEIGHT_FILE = "weights.mem"
) (
    input  logic                                       ap_clk,
    input  logic                                       ap_rst_n,
    input  logic                                       en,
    input  logic                                       step,
    input  logic [(DEPTHWISE ? PE : 1)*SIMD*IN_BITS-1:0] x,
    output logic [             cs_pkg::cnt_bits(SF)-1:0] sf,
    output logic [             cs_pkg::cnt_bits(NF)-1:0] nf,
    output logic [             cs_pkg::cnt_bits(NF)-1:0] nf_next,
    output logic                                       out_valid,
    output logic [                     PE*ACC_BITS-1:0] acc,
    output logic                                       ovf
);
  localparam int NW = NF * SF;  // weight ROM words
  localparam int XW = (DEPTHWISE ? PE : 1) * SIMD * IN_BITS;
  localparam int WW = PE * SIMD * W_BITS;  // one weight ROM word
  localparam int PW = IN_BITS + 1 + W_BITS;  // exact product width (input made signed)
  localparam int DW = PW + $clog2(SIMD + 1);  // exact SIMD dot-product width
  localparam int EW = PW + $clog2(SF * SIMD + 1) + 1;  // exact (shadow) accumulator width
  localparam int NFB = cs_pkg::cnt_bits(NF);

  // ---------------------------------------------------------------- step: fold counters
  logic sf_last;
  logic [cs_pkg::cnt_bits(NW)-1:0] wa;  // = nf*SF + sf

  cs_counter #(.N(SF)) u_sf (.ap_clk(ap_clk), .ap_rst_n(ap_rst_n), .inc(en && step), .q(sf),
                             .last(sf_last));
  cs_counter #(.N(NF)) u_nf (.ap_clk(ap_clk), .ap_rst_n(ap_rst_n),
                             .inc(en && step && sf_last), .q(nf), .last());
  cs_counter #(.N(NW)) u_wa (.ap_clk(ap_clk), .ap_rst_n(ap_rst_n), .inc(en && step), .q(wa),
                             .last());

  // ---------------------------------------------------------------- stage 1
  logic [WW-1:0] wrom[0:NW-1];
  initial $readmemh(WEIGHT_FILE, wrom);

  logic s1_valid, s1_first, s1_last;
  logic [NFB-1:0] s1_nf;
  logic [XW-1:0] s1_x;
  logic [WW-1:0] s1_w;

  always_ff @(posedge ap_clk) begin
    if (en) begin
      s1_x <= x;
      s1_w <= wrom[wa];
      s1_first <= (sf == '0);
      s1_last <= sf_last;
      s1_nf <= nf;
    end
  end
  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) s1_valid <= 1'b0;
    else if (en) s1_valid <= step;
  end

  // ---------------------------------------------------------------- stage 2: dot products
  logic s2_valid, s2_first, s2_last;
  logic [PE*ACC_BITS-1:0] s2_dot;  // wrapped SIMD dot product per lane
  logic [PE*DW-1:0] s2_dotx;  // exact, for the overflow monitor only

  for (genvar p = 0; p < PE; p++) begin : g_pe
    logic [SIMD*PW-1:0] prods;  // the exact products of lane p, product s at [s*PW +: PW]
    logic [ACC_BITS-1:0] dot;
    logic signed [DW-1:0] dotx;
    // lane p's input element s (DEPTHWISE: s*PE+p) against its weight p*SIMD+s
    for (genvar s = 0; s < SIMD; s++) begin : g_prod
      logic [IN_BITS-1:0] xe;
      logic [W_BITS-1:0] we;
      logic signed [PW-1:0] xs;  // the input element made signed
      assign xe = s1_x[(DEPTHWISE ? s*PE+p : s)*IN_BITS+:IN_BITS];
      assign we = s1_w[(p*SIMD+s)*W_BITS+:W_BITS];
      assign xs = IN_SIGNED ? PW'($signed(xe)) : $signed(PW'(xe));
      if (XNOR) begin : g_xnor
        // a match counts 1, (b_x*b_w + 1)/2 of the bipolar values; the concatenation
        // keeps the XNOR 1 bit wide (a cast would widen its operands)
        assign prods[s*PW+:PW] = PW'({xe[0] ~^ we[0]});
      end else if (USE_DSP) begin : g_dsp
        (* use_dsp = "yes" *) logic signed [PW-1:0] prod;
        assign prod = xs * PW'($signed(we));
        assign prods[s*PW+:PW] = prod;
      end else begin : g_lut
        // w = -w[W-1]*2^(W-1) + sum_j<W-1 w[j]*2^j: one shifted copy of xs per weight bit.
        // Yosys: kept, each product is its own adder chain. Else, where the accumulator
        // is no wider than a product (ACC_BITS <= PW), its alumacc merges every row of
        // the lane into one wrapped sum, which maccmap builds as a full-adder tree in LUTs:
        // more LUTs than the chains (and than the same lanes at a wider accumulator)
`ifdef YOSYS
        (* use_dsp = "no", keep *) logic signed [PW-1:0] prod;
`else
        (* use_dsp = "no" *) logic signed [PW-1:0] prod;
`endif
        always_comb begin
          prod = '0;
          for (int j = 0; j < W_BITS; j++) begin
            if (j == W_BITS - 1) prod = prod - ((xs & {PW{we[j]}}) << j);
            else prod = prod + ((xs & {PW{we[j]}}) << j);
          end
        end
        assign prods[s*PW+:PW] = prod;
      end
    end
    always_comb begin
      dot = '0;
      dotx = '0;
      for (int s = 0; s < SIMD; s++) begin
        dot = dot + ACC_BITS'($signed(prods[s*PW+:PW]));  // wraps at ACC_BITS
        dotx = dotx + DW'($signed(prods[s*PW+:PW]));
      end
    end
    always_ff @(posedge ap_clk) begin
      if (en) begin
        s2_dot[p*ACC_BITS+:ACC_BITS] <= dot;
        s2_dotx[p*DW+:DW] <= dotx;
      end
    end
  end

  always_ff @(posedge ap_clk) begin
    if (en) begin
      s2_first <= s1_first;
      s2_last <= s1_last;
      nf_next <= s1_nf;
    end
  end
  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) s2_valid <= 1'b0;
    else if (en) s2_valid <= s1_valid;
  end

  // ---------------------------------------------------------------- stage 3: accumulate
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
      if (en && s2_valid) begin
        acc[p*ACC_BITS+:ACC_BITS] <= base + s2_dot[p*ACC_BITS+:ACC_BITS];
        accx[p*EW+:EW] <= nextx;
      end
    end
    // nextx outside the ACC_BITS range <=> its bits above the range are not all equal
    // to the sign (signed) / not all zero (unsigned)
    if (OVF_MONITOR && EW > ACC_BITS) begin : g_chk
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
      out_valid <= 1'b0;
      ovf <= 1'b0;
    end else if (en) begin
      out_valid <= s2_valid && s2_last;
      if (s2_valid && (part_ovf != '0)) ovf <= 1'b1;
    end
  end
endmodule
