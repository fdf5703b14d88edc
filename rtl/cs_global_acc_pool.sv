// cs_global_acc_pool -- per-channel sum over every pixel of a frame (FINN GlobalAccPool:
// the sum of a GlobalAveragePool, whose division by the pixel count FINN leaves to a Mul
// after it), PE channels per word.
//
// Parameters
//   PE        channels per word
//   NF        channel folds (channels / PE): words per pixel
//   PIXELS    pixels per frame (H*W)
//   IN_BITS   input element width; SIGNED: elements are two's complement (the sums too)
//   OUT_BITS  sum width: FINN's output type, which holds PIXELS times any input, so no
//             sum wraps
// Ports
//   ap_clk, ap_rst_n  clock, synchronous active-low reset
//   s_axis_*          NHWC words: per pixel NF words of PE elements (element p at
//                     [p*IN_BITS +: IN_BITS]), tdata rounded up to bytes, pad bits ignored
//   m_axis_*          per frame NF words, lane p of word f the sum of channel f*PE+p over
//                     the frame's pixels (at [p*OUT_BITS +: OUT_BITS]); pad bits zero
//
// The running sums live in an NF-word memory indexed by the channel fold (read
// asynchronously: LUT RAM, not NF*PE accumulator registers). Each input word adds to
// its fold's entry (the first pixel's word replaces it); the last pixel's sum goes to a
// 2-deep cs_fifo instead. One input word per cycle: the last pixel's NF words leave one
// per cycle while the next frame streams in, so a frame takes PIXELS*NF cycles (FINN's
// estimate adds NF for the output). s_axis_tready is the FIFO's registered not-full
// flag OR "not the last pixel" (no path from m_axis_tready). Latency: 1 cycle.
module cs_global_acc_pool #(
    parameter int PE = 1,
    parameter int NF = 1,
    parameter int PIXELS = 4,
    parameter int IN_BITS = 4,
    parameter bit SIGNED = 1'b0,
    parameter int OUT_BITS = 6
) (
    input  logic                                   ap_clk,
    input  logic                                   ap_rst_n,
    input  logic                                   s_axis_tvalid,
    output logic                                   s_axis_tready,
    input  logic [ cs_pkg::tdata_bits(PE*IN_BITS)-1:0] s_axis_tdata,
    output logic                                   m_axis_tvalid,
    input  logic                                   m_axis_tready,
    output logic [cs_pkg::tdata_bits(PE*OUT_BITS)-1:0] m_axis_tdata
);
  localparam int AW = PE * OUT_BITS;
  localparam int OUT_WORD = cs_pkg::tdata_bits(AW);

  logic [cs_pkg::cnt_bits(NF)-1:0] f;
  logic [cs_pkg::cnt_bits(PIXELS)-1:0] pix;
  logic f_last, pix_last, en, take;
  logic [AW-1:0] acc[0:NF-1];  // running sums, one word per channel fold
  logic [AW-1:0] prev, sum;

  assign s_axis_tready = !pix_last || en;
  assign take = s_axis_tvalid && s_axis_tready;
  assign prev = acc[f];

  cs_counter #(
      .N(NF)
  ) u_fold (
      .ap_clk(ap_clk),
      .ap_rst_n(ap_rst_n),
      .inc(take),
      .q(f),
      .last(f_last)
  );
  cs_counter #(
      .N(PIXELS)
  ) u_pixel (
      .ap_clk(ap_clk),
      .ap_rst_n(ap_rst_n),
      .inc(take && f_last),
      .q(pix),
      .last(pix_last)
  );

  // lane-wise: the input element widened to OUT_BITS, plus the fold's running sum
  // (nothing on a frame's first pixel)
  for (genvar p = 0; p < PE; p++) begin : g_lane
    logic [OUT_BITS-1:0] x;
    if (SIGNED) begin : g_s
      assign x = OUT_BITS'($signed(s_axis_tdata[p*IN_BITS+:IN_BITS]));
    end else begin : g_u
      assign x = OUT_BITS'(s_axis_tdata[p*IN_BITS+:IN_BITS]);
    end
    assign sum[p*OUT_BITS+:OUT_BITS] = (pix == '0 ? '0 : prev[p*OUT_BITS+:OUT_BITS]) + x;
  end

  // no reset: a frame's first pixel overwrites every entry before it is read
  always_ff @(posedge ap_clk) begin
    if (take) acc[f] <= sum;
  end

  cs_fifo #(
      .WIDTH(OUT_WORD),
      .DEPTH(2)
  ) u_out (
      .ap_clk(ap_clk),
      .ap_rst_n(ap_rst_n),
      .s_axis_tvalid(s_axis_tvalid && pix_last),
      .s_axis_tready(en),
      .s_axis_tdata(OUT_WORD'(sum)),
      .m_axis_tvalid(m_axis_tvalid),
      .m_axis_tready(m_axis_tready),
      .m_axis_tdata(m_axis_tdata)
  );
endmodule
