// cs_upsample -- nearest-neighbour upsampling of an NHWC feature map by integer scales
// (FINN UpsampleNearestNeighbour), SIMD channels per word.
//
// Parameters
//   IMG_W          input feature map width (pixels)
//   C, SIMD        channels and channels per word; CF = C/SIMD words per pixel
//   SCALE_H        times each input row is emitted (HO/HI), >= 1
//   SCALE_W        times each input pixel is emitted within a row (WO/WI), >= 1;
//                  SCALE_H = 1 or an image one pixel high is a 1D upsampling
//   ELEM_BITS      element width
// Ports
//   ap_clk, ap_rst_n  clock, synchronous active-low reset
//   s_axis_*          input pixels in NHWC order, SIMD elements of ELEM_BITS per word
//                     (element s at [s*ELEM_BITS +: ELEM_BITS]), tdata rounded up to
//                     bytes, pad bits ignored
//   m_axis_*          output pixels in NHWC order: output pixel (y, x) is input pixel
//                     (y / SCALE_H, x / SCALE_W); same word format, pad bits zero
//
// The kernel needs no image height: every input row is handled alike. Counters walk the
// output words of one input row's SCALE_H output rows (repetition ry, pixel repetition
// rx, channel fold cf, and the read address ra = ix*CF + cf). The first copy of each
// pixel (ry = 0, rx = 0) takes the next input word, writes it into a one-row buffer
// (IMG_W*CF words) and forwards it; every other copy reads the buffer. The buffer is a
// simple dual port RAM: one write and one synchronous read port, each with its own
// address register (one shared address made Yosys map it as single-port LUT RAM, which
// fails at 8K words; this way it is block RAM). The input words of a row arrive in
// address order, so the write address wa counts them modulo the row. A word is written
// in the cycle it arrives (the read port then reads the old word there, unused: the
// output takes the input word); its next copy, at the earliest the cycle after (CF = 1,
// or a one-word row), reads the written word. One output word per cycle (FINN's estimate:
// the output words), frames back to back. The output is a 2-deep cs_fifo whose
// registered not-full flag gates the counters; s_axis_tready is that flag AND the
// registered "first copy" flag (no path from m_axis_tready). Latency: 2 cycles.
module cs_upsample #(
    parameter int IMG_W = 4,
    parameter int C = 1,
    parameter int SIMD = 1,
    parameter int SCALE_H = 2,
    parameter int SCALE_W = 2,
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
  localparam int ROW = IMG_W * CF;  // buffer words: one input row
  localparam int WA = cs_pkg::cnt_bits(ROW);
  localparam int WC = cs_pkg::cnt_bits(CF);
  localparam int WRX = cs_pkg::cnt_bits(SCALE_W);
  localparam int WRY = cs_pkg::cnt_bits(SCALE_H);

  logic [PW-1:0] mem[0:ROW-1];
  logic [WA-1:0] ra, base;  // read address of the word; of the pixel's first word
  logic [WA-1:0] wa;  // write address: the input words of the row so far
  logic [WC-1:0] cf;
  logic [WRX-1:0] rx;
  logic [WRY-1:0] ry;
  logic fresh;  // registered: ry == 0 && rx == 0, the word comes from s_axis
  logic en, step, wr, cf_last, rx_last, row_end;
  logic [WRX-1:0] rx_next;
  logic [WRY-1:0] ry_next;
  logic [PW-1:0] rd_q, in_q;  // buffer read, forwarded input word
  logic sel_in, q_valid;

  assign s_axis_tready = en && fresh;
  assign step = en && (fresh ? s_axis_tvalid : 1'b1);
  assign wr = step && fresh;
  assign cf_last = (cf == WC'(CF - 1));
  assign rx_last = (rx == WRX'(SCALE_W - 1));
  assign row_end = cf_last && rx_last && (ra == WA'(ROW - 1));

  always_comb begin
    rx_next = rx;
    ry_next = ry;
    if (cf_last) rx_next = rx_last ? '0 : rx + 1'b1;
    if (row_end) ry_next = (ry == WRY'(SCALE_H - 1)) ? '0 : ry + 1'b1;
  end

  // buffer: one write port, one synchronous read port (data only, no reset)
  always_ff @(posedge ap_clk) begin
    if (wr) mem[wa] <= s_axis_tdata[PW-1:0];
    if (en) rd_q <= mem[ra];
  end

  always_ff @(posedge ap_clk) begin
    if (en) begin
      in_q <= s_axis_tdata[PW-1:0];
      sel_in <= fresh;
    end
  end

  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) begin
      ra <= '0;
      wa <= '0;
      base <= '0;
      cf <= '0;
      rx <= '0;
      ry <= '0;
      fresh <= 1'b1;
      q_valid <= 1'b0;
    end else begin
      if (en) q_valid <= step;
      if (wr) wa <= (wa == WA'(ROW - 1)) ? '0 : wa + 1'b1;
      if (step) begin
        cf <= cf_last ? '0 : cf + 1'b1;
        rx <= rx_next;
        ry <= ry_next;
        fresh <= (rx_next == '0) && (ry_next == '0);
        if (!cf_last) begin
          ra <= ra + 1'b1;
        end else if (!rx_last) begin
          ra <= base;  // the pixel's next copy
        end else if (!row_end) begin
          ra <= ra + 1'b1;  // the next pixel
          base <= ra + 1'b1;
        end else begin
          ra <= '0;  // the row's next copy, or the next row
          base <= '0;
        end
      end
    end
  end

  cs_fifo #(
      .WIDTH(WORD),
      .DEPTH(2)
  ) u_out (
      .ap_clk(ap_clk),
      .ap_rst_n(ap_rst_n),
      .s_axis_tvalid(q_valid),
      .s_axis_tready(en),
      .s_axis_tdata(WORD'(sel_in ? in_q : rd_q)),
      .m_axis_tvalid(m_axis_tvalid),
      .m_axis_tready(m_axis_tready),
      .m_axis_tdata(m_axis_tdata)
  );
endmodule
