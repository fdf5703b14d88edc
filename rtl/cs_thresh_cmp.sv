// cs_thresh_cmp -- combinational multi-threshold activation of one value (FINN
// MultiThreshold semantics): y = ACT_BIAS + count(t : x >= thr[t]).
//
// Parameters
//   DATA_BITS, DATA_SIGNED  the compared value x (two's complement when signed)
//   THR_BITS                width of each threshold; thresholds have the signedness of
//                           the data, so THR_BITS = DATA_BITS + 1 holds every useful
//                           threshold (data min .. data max + 1, golden.clip_thresholds)
//   N_THRES                 thresholds per channel (>= 1), ascending
//   ACT_BIAS                added to the count (FINN's ActVal; may be negative)
//   OUT_BITS                width of y; the sum is truncated to it (two's complement)
// Ports
//   x[DATA_BITS]            value
//   thr[N_THRES*THR_BITS]   threshold t at [t*THR_BITS +: THR_BITS]
//   y[OUT_BITS]             activation
//
// Shared by cs_mvau (activation after the accumulator) and cs_thresholding. Comparing
// every threshold (instead of a binary search) keeps it one combinational stage; the
// callers register around it.
module cs_thresh_cmp #(
    parameter int DATA_BITS = 8,
    parameter bit DATA_SIGNED = 1'b1,
    parameter int THR_BITS = DATA_BITS + 1,
    parameter int N_THRES = 1,
    parameter int ACT_BIAS = 0,
    parameter int OUT_BITS = 8
) (
    input  logic [        DATA_BITS-1:0] x,
    input  logic [ N_THRES*THR_BITS-1:0] thr,
    output logic [         OUT_BITS-1:0] y
);
  // common signed width wide enough for both operands
  localparam int CW = ((DATA_BITS > THR_BITS) ? DATA_BITS : THR_BITS) + 1;
  localparam int NW = $clog2(N_THRES + 1) + 1;

  logic signed [CW-1:0] xv;
  logic signed [CW-1:0] tv;
  logic [NW-1:0] cnt;
  logic signed [31:0] sum;

  always_comb begin
    if (DATA_SIGNED) xv = CW'($signed(x));
    else xv = $signed(CW'(x));
    cnt = '0;
    for (int t = 0; t < N_THRES; t++) begin
      if (DATA_SIGNED) tv = CW'($signed(thr[t*THR_BITS+:THR_BITS]));
      else tv = $signed(CW'(thr[t*THR_BITS+:THR_BITS]));
      if (xv >= tv) cnt = cnt + 1'b1;
    end
    sum = ACT_BIAS + $signed(32'(cnt));
    y = sum[OUT_BITS-1:0];
  end
endmodule
