// cs_thresh_search -- pipelined binary-search multi-threshold activation of PE values
// (FINN MultiThreshold semantics): y[p] = ACT_BIAS + count(t : x[p] >= thr[c][t]) for the
// channel c = nf*PE + p, with the N_THRES thresholds of each channel ascending.
//
// Search: with B = $clog2(N_THRES + 1) stages the thresholds are padded to 2^B - 1 (the
// padding never fires, see THRESH_FILE). Stage s = 0..B-1 settles count bit k = B-1-s:
// it compares x against thr[r + 2^k - 1], where r is the count so far (bits above k), and
// sets bit k when x >= that threshold. Because the thresholds ascend, the final r is the
// exact count. Stage s looks at one of 2^s candidates per channel, so each stage has its
// own ROM per PE lane (NF*2^s words of THR_BITS, synchronous read, initialized from its
// own file, so no tool carries the other lanes' data) and each lane has B comparators in
// all.
//
// Parameters
//   PE, NF                  lanes per word and channel folds (NF*PE channels)
//   DATA_BITS, DATA_SIGNED  the compared values (two's complement when signed)
//   THR_BITS                threshold width; thresholds have the signedness of the data
//                           and lie strictly inside the THR_BITS type (above its minimum
//                           when signed, below its maximum, the padding). The search runs
//                           at THR_BITS: x is saturated into [min, max - 1] of the type,
//                           which keeps x >= t for every such threshold and never fires
//                           the padding. DATA_BITS + 1 (the callers' default) holds every
//                           clipped threshold and saturates nothing; FINN-style narrow
//                           thresholds (codesign.backends.words.threshold_bits) make a
//                           wide accumulator's search as narrow as its thresholds
//   N_THRES                 thresholds per channel, 1 .. 65535 (B <= 16)
//   ACT_BIAS                added to the count (FINN's ActVal; may be negative)
//   OUT_BITS                width of each y; the sum is truncated to it (two's complement)
//   THRESH_FILE             base name of the B*PE ROM files ($readmemh), one per stage
//                           and lane: {THRESH_FILE, "_s", h, "_p", llll, ".mem"} with h
//                           the stage as one and llll the lane as four lower-case hex
//                           digits (PE <= 65536): thresholds_s0_p0000.mem, ...,
//                           thresholds_sa_p000f.mem. Stage s, lane p: NF*2^s lines of
//                           THR_BITS bits; line nf*2^s + j holds threshold index
//                           j*2^(k+1) + 2^k - 1 (k = B-1-s) of channel nf*PE + p, or the
//                           padding (the THR_BITS type's max) where that index is
//                           >= N_THRES.
//                           Written by codesign.backends.words.write_thresh_mem.
// Ports
//   ap_clk, ap_rst_n        clock, synchronous active-low reset (valid bits only)
//   en                      the whole pipeline (and every ROM read) advances
//   nf_next                 channel fold of the values that arrive on x in the next en
//                           cycle: the first stage's ROM is read one cycle ahead
//   in_valid, x             values (lane p at [p*DATA_BITS +: DATA_BITS]), registered by
//                           the caller
//   out_valid, y            results, lane p at [p*OUT_BITS +: OUT_BITS]: combinational
//                           from the last stage's registers, B-1 en cycles after x
//
// Timing: stage s's ROM is read in the cycle of stage s-1 at the address formed from its
// comparison result (stage 0's from nf_next), so one value per cycle streams through;
// every register advances only with en, so a caller that stalls on a registered flag keeps
// its stall logic unchanged (no credit counting needed). B = 1 (N_THRES = 1) is a single
// combinational compare, as is the last stage in general.
module cs_thresh_search #(
    parameter int PE = 1,
    parameter int NF = 1,
    parameter int DATA_BITS = 8,
    parameter bit DATA_SIGNED = 1'b1,
    parameter int THR_BITS = DATA_BITS + 1,
    parameter int N_THRES = 1,
    parameter int ACT_BIAS = 0,
    parameter int OUT_BITS = 8,
    parameter THRESH_FILE = "thresholds"
) (
    input  logic                                  ap_clk,
    input  logic                                  ap_rst_n,
    input  logic                                  en,
    input  logic [cs_pkg::cnt_bits(NF)-1:0] nf_next,
    input  logic                                  in_valid,
    input  logic [             PE*DATA_BITS-1:0] x,
    output logic                                  out_valid,
    output logic [              PE*OUT_BITS-1:0] y
);
  localparam int B = $clog2(N_THRES + 1);  // stages = bits of the count
  localparam int NFB = cs_pkg::cnt_bits(NF);
  // saturation bounds of x in the threshold type, in a signed width that holds x and both
  localparam int SW = ((THR_BITS > DATA_BITS) ? THR_BITS : DATA_BITS) + 1;
  localparam longint SAT_HI =
      (DATA_SIGNED ? (64'sd1 <<< (THR_BITS - 1)) : (64'sd1 <<< THR_BITS)) - 2;
  localparam longint SAT_LO = DATA_SIGNED ? -(64'sd1 <<< (THR_BITS - 1)) : 64'sd0;
  localparam logic signed [SW-1:0] HI = SW'(SAT_HI);
  localparam logic signed [SW-1:0] LO = SW'(SAT_LO);

  // lower-case hex digit of d = 0..15, for the ROM file names (a ternary in a return
  // statement does not parse in Yosys; assigning the function name does)
  function automatic logic [7:0] hexc(input int d);
    hexc = (d < 10) ? 8'd48 + 8'(d) : 8'd87 + 8'(d);
  endfunction

  // Every stage and lane keeps its signals in its own generate scope and reads the stage
  // before it by hierarchical name (g_stage[s-1]...). Flat vectors of all stages and
  // lanes, each driven in parts, cost simulators a full-width update per part: Icarus
  // re-assembled a 2,048-bit net for every lane's change (PE = 16, 255 thresholds:
  // 32 ms per cycle, now 0.1 ms; Verilator 20 % faster too).
  for (genvar s = 0; s < B; s++) begin : g_stage
    localparam int K = B - 1 - s;  // count bit this stage settles
    localparam int DEPTH = NF * (2 ** s);  // ROM words: 2^s candidates per channel fold
    localparam logic [7:0] HEX = hexc(s);  // file name: stage digit
    logic [NFB-1:0] nf_q;  // channel fold of this stage's values
    logic v;  // this stage holds valid values

    if (s == 0) begin : g_in
      always_ff @(posedge ap_clk) begin
        if (en) nf_q <= nf_next;  // registered with the stage-0 ROM read
      end
      assign v = in_valid;
    end else begin : g_reg
      logic v_q;
      always_ff @(posedge ap_clk) begin
        if (en) nf_q <= g_stage[s-1].nf_q;
      end
      always_ff @(posedge ap_clk) begin
        if (!ap_rst_n) v_q <= 1'b0;
        else if (en) v_q <= g_stage[s-1].v;
      end
      assign v = v_q;
    end

    for (genvar p = 0; p < PE; p++) begin : g_lane
      // this lane's ROM of the stage, from its own file (name: four lane digits)
      localparam logic [31:0] LANE = {hexc((p >> 12) & 15), hexc((p >> 8) & 15),
                                      hexc((p >> 4) & 15), hexc(p & 15)};
      // in LUTs, like FINN's MVAU default (ram_style_thresholds = distributed); Yosys
      // builds it as Vivado does (codesign/synth/lutrom). Left to itself Yosys picks
      // block RAM or LUTs per ROM after pruning constant bits, so the choice followed
      // the threshold values and flipped between otherwise equal designs
      (* rom_style = "distributed" *) logic [THR_BITS-1:0] rom[0:DEPTH-1];
      initial $readmemh({THRESH_FILE, "_s", HEX, "_p", LANE, ".mem"}, rom);
      logic [THR_BITS-1:0] thr;  // candidate threshold, read one cycle ahead
      logic [THR_BITS-1:0] xd;  // the compared value, saturated to the threshold type
      logic [B-1:0] r, nr;  // count bits settled before / after this stage

      if (s == 0) begin : g_rd0
        logic signed [SW-1:0] xs;  // x extended by its signedness
        if (DATA_SIGNED) begin : g_sx
          assign xs = SW'($signed(x[p*DATA_BITS+:DATA_BITS]));
        end else begin : g_ux
          assign xs = SW'(x[p*DATA_BITS+:DATA_BITS]);
        end
        assign xd = (xs > HI) ? HI[THR_BITS-1:0] : (xs < LO) ? LO[THR_BITS-1:0]
                  : xs[THR_BITS-1:0];
        assign r = '0;
        always_ff @(posedge ap_clk) begin
          if (en) thr <= rom[nf_next];
        end
      end else begin : g_rd
        logic [THR_BITS-1:0] x_q;
        logic [B-1:0] r_q;
        // address nf*2^s + j, j = the count bits settled by stages 0..s-1
        logic [NFB+s-1:0] addr;
        assign addr = {g_stage[s-1].nf_q, g_stage[s-1].g_lane[p].nr[K+1+:s]};
        always_ff @(posedge ap_clk) begin
          if (en) begin
            x_q <= g_stage[s-1].g_lane[p].xd;
            r_q <= g_stage[s-1].g_lane[p].nr;
            thr <= rom[addr];
          end
        end
        assign xd = x_q;
        assign r = r_q;
      end

      // set count bit K when x >= the candidate (data and thresholds share signedness)
      logic ge;
      if (DATA_SIGNED) begin : g_sc
        assign ge = $signed(xd) >= $signed(thr);
      end else begin : g_uc
        assign ge = xd >= thr;
      end
      assign nr = r | (B'(ge) << K);
    end
  end

  assign out_valid = g_stage[B-1].v;
  for (genvar p = 0; p < PE; p++) begin : g_out
    logic signed [31:0] sum;
    assign sum = ACT_BIAS + $signed(32'(g_stage[B-1].g_lane[p].nr));
    assign y[p*OUT_BITS+:OUT_BITS] = sum[OUT_BITS-1:0];
  end
endmodule
