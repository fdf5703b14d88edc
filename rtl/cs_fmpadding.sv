// cs_fmpadding -- zero padding of an NHWC feature map (FINN FMPadding), SIMD channels
// per word.
//
// Parameters
//   IMG_H, IMG_W   input feature map height and width (pixels)
//   C, SIMD        channels and channels per word; CF = C/SIMD words per pixel
//   PAD_T, PAD_L, PAD_B, PAD_R
//                  zero pixels added above, left, below and right (FINN's Padding
//                  attribute [top, left, bottom, right]); any may be 0
//   ELEM_BITS      element width
// Ports
//   ap_clk, ap_rst_n  clock, synchronous active-low reset
//   s_axis_*          IMG_H*IMG_W*CF words per frame, NHWC, SIMD elements of ELEM_BITS
//                     per word (element s at [s*ELEM_BITS +: ELEM_BITS]), tdata rounded
//                     up to bytes, pad bits ignored
//   m_axis_*          (IMG_H+PAD_T+PAD_B)*(IMG_W+PAD_L+PAD_R)*CF words per frame, NHWC;
//                     padding words are zero, pad bits zero
//
// A counter walks the output positions (row, column, channel fold): an inside position
// forwards the next input word, a padding position emits zero. One output word per
// cycle (FINN's estimate: the output words). The output is a 2-deep cs_fifo, whose
// registered not-full flag gates the counter; s_axis_tready is that flag AND the
// registered "inside the image" flags (no path from m_axis_tready). Latency: 1 cycle.
module cs_fmpadding #(
    parameter int IMG_H = 4,
    parameter int IMG_W = 4,
    parameter int C = 1,
    parameter int SIMD = 1,
    parameter int PAD_T = 1,
    parameter int PAD_L = 1,
    parameter int PAD_B = 1,
    parameter int PAD_R = 1,
    parameter int ELEM_BITS = 8
) (
    input  logic                                   ap_clk,
    input  logic                                   ap_rst_n,
    input  logic                                   s_axis_tvalid,
    output logic                                   s_axis_tready,
    input  logic [cs_pkg::tdata_bits(SIMD*ELEM_BITS)-1:0] s_axis_tdata,
    output logic                                   m_axis_tvalid,
    input  logic                                   m_axis_tready,
    output logic [cs_pkg::tdata_bits(SIMD*ELEM_BITS)-1:0] m_axis_tdata
);
  localparam int PW = SIMD * ELEM_BITS;
  localparam int WORD = cs_pkg::tdata_bits(PW);
  localparam int CF = C / SIMD;
  localparam int OUT_H = IMG_H + PAD_T + PAD_B;
  localparam int OUT_W = IMG_W + PAD_L + PAD_R;
  localparam int WC = cs_pkg::cnt_bits(CF);
  localparam int WX = $clog2(OUT_W + 1);
  localparam int WY = $clog2(OUT_H + 1);

  logic [WC-1:0] cf;
  logic [WX-1:0] x;
  logic [WY-1:0] y;
  logic row_in, col_in;  // registered: row y / column x hold input pixels
  logic en, in_px, push, step;
  logic [WX-1:0] x_next;
  logic [WY-1:0] y_next;

  assign in_px = row_in && col_in;
  assign s_axis_tready = en && in_px;
  assign push = in_px ? s_axis_tvalid : 1'b1;
  assign step = en && push;

  always_comb begin
    x_next = x;
    y_next = y;
    if (cf == WC'(CF - 1)) begin
      x_next = (x == WX'(OUT_W - 1)) ? '0 : x + 1'b1;
      if (x == WX'(OUT_W - 1)) y_next = (y == WY'(OUT_H - 1)) ? '0 : y + 1'b1;
    end
  end

  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) begin
      cf <= '0;
      x <= '0;
      y <= '0;
      row_in <= (PAD_T == 0);
      col_in <= (PAD_L == 0);
    end else if (step) begin
      cf <= (cf == WC'(CF - 1)) ? '0 : cf + 1'b1;
      x <= x_next;
      y <= y_next;
      row_in <= (y_next >= WY'(PAD_T)) && (y_next < WY'(PAD_T + IMG_H));
      col_in <= (x_next >= WX'(PAD_L)) && (x_next < WX'(PAD_L + IMG_W));
    end
  end

  cs_fifo #(
      .WIDTH(WORD),
      .DEPTH(2)
  ) u_out (
      .ap_clk(ap_clk),
      .ap_rst_n(ap_rst_n),
      .s_axis_tvalid(push),
      .s_axis_tready(en),
      .s_axis_tdata(in_px ? WORD'(s_axis_tdata[PW-1:0]) : '0),
      .m_axis_tvalid(m_axis_tvalid),
      .m_axis_tready(m_axis_tready),
      .m_axis_tdata(m_axis_tdata)
  );
endmodule
