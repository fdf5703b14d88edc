// cs_swg -- sliding-window generator (FINN ConvolutionInputGenerator, im2col over an
// NHWC stream, no padding, dilation 1), SIMD channels per word.
//
// Parameters
//   IFM_H, IFM_W   input feature map height and width (pixels)
//   C, SIMD        channels and channels per word; CF = C/SIMD words per pixel
//   K_H, K_W       kernel height and width (<= IFM_H, IFM_W)
//   S_H, S_W       stride; OFM = (IFM - K)/S + 1 windows per dimension
//   DEPTHWISE      output order per window: 0 = (kh, kw, cf) words (FINN's Im2Col),
//                  1 = (cf, kh, kw) words (channel-fold-major, as FINN's RTL SWG feeds
//                  the VVAU and Pool)
//   ELEM_BITS      element width
// Ports
//   ap_clk, ap_rst_n  clock, synchronous active-low reset
//   s_axis_*          input pixels in NHWC order, SIMD elements of ELEM_BITS per word
//                     (element s at [s*ELEM_BITS +: ELEM_BITS]), tdata rounded up to
//                     bytes, pad bits ignored
//   m_axis_*          for each output pixel (row-major) its K_H*K_W*CF window words in
//                     the DEPTHWISE order; same word format, pad bits zero
//
// Each input word is written once into a circular buffer of DEPTH words: the window
// span WIN = ((K_H-1)*IFM_W + K_W)*CF plus (S_H-1) rows and S_W pixels, so the rows of
// the next window row stream in while the current one is read out. `lead` counts the
// words written beyond the current window's first word: an input word is accepted
// while lead < DEPTH (it overwrites a word older than the current window), a window
// word at offset off is read while off < lead (it has been written). Frames follow one
// another without a gap (the window after a frame's last starts at the next frame's
// first word). One word per cycle on each side; without stalls a frame takes
// codesign.kernels.swg.swg_cycles cycles (the window's first words are read while its
// last ones still arrive).
// Every output is a flip-flop: s_axis_tready is the registered lead < DEPTH, the output
// comes from a 2-deep cs_fifo whose registered not-full flag stalls the read side.
// Latency: 3 cycles from the input handshake of a word to that word on m_axis (the
// buffer write, its read into the output register, the output cs_fifo).
module cs_swg #(
    parameter int IFM_H = 4,
    parameter int IFM_W = 4,
    parameter int C = 1,
    parameter int SIMD = 1,
    parameter int K_H = 3,
    parameter int K_W = 3,
    parameter int S_H = 1,
    parameter int S_W = 1,
    parameter bit DEPTHWISE = 1'b0,
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
  localparam int OFM_H = (IFM_H - K_H) / S_H + 1;
  localparam int OFM_W = (IFM_W - K_W) / S_W + 1;
  localparam int ROW = IFM_W * CF;
  localparam int WIN = ((K_H - 1) * IFM_W + K_W) * CF;
  localparam int DEPTH = WIN + (S_H - 1) * ROW + S_W * CF;

  // window words as three nested loops (inner n0, middle n1, outer n2) and the offset
  // step taken when a loop advances and the ones inside it wrap
  localparam int N0 = DEPTHWISE ? K_W : K_W * CF;
  localparam int N1 = K_H;
  localparam int N2 = DEPTHWISE ? CF : 1;
  localparam int STEP0 = DEPTHWISE ? CF : 1;
  localparam int STEP1 = ROW - (N0 - 1) * STEP0;
  localparam int STEP2 = 1 - (K_H - 1) * ROW - (K_W - 1) * CF;
  // first-word distance to the next window: along a row, to the next row, to the next
  // frame (past the words of the frame no window covers)
  localparam int DX = S_W * CF;
  localparam int DY = (S_H * IFM_W - (OFM_W - 1) * S_W) * CF;
  localparam int DF = (IFM_H * IFM_W - (OFM_H - 1) * S_H * IFM_W - (OFM_W - 1) * S_W) * CF;

  localparam int AW = $clog2(DEPTH);
  localparam int LW = $clog2(DF + DEPTH + WIN + 1) + 2;  // signed lead and offsets
  localparam int W0 = cs_pkg::cnt_bits(N0);
  localparam int W1 = cs_pkg::cnt_bits(N1);
  localparam int W2 = cs_pkg::cnt_bits(N2);
  localparam int WX = cs_pkg::cnt_bits(OFM_W);
  localparam int WY = cs_pkg::cnt_bits(OFM_H);

  // a constant as a buffer-address increment in [0, DEPTH)
  // (assignments to the function name: Yosys 0.23 has no `return`)
  function automatic int amod(input int v);
    amod = ((v % DEPTH) + DEPTH) % DEPTH;
  endfunction

  // buffer address a + inc modulo DEPTH, for a < DEPTH and 0 <= inc < DEPTH
  function automatic logic [AW-1:0] addr_add(input logic [AW-1:0] a, input logic [AW:0] inc);
    logic [AW:0] t;
    t = {1'b0, a} + inc;
    addr_add = (t >= (AW + 1)'(DEPTH)) ? AW'(t - (AW + 1)'(DEPTH)) : AW'(t);
  endfunction

  localparam logic [AW:0] A0 = (AW + 1)'(amod(STEP0));
  localparam logic [AW:0] A1 = (AW + 1)'(amod(STEP1));
  localparam logic [AW:0] A2 = (AW + 1)'(amod(STEP2));
  localparam logic [AW:0] ADX = (AW + 1)'(amod(DX));
  localparam logic [AW:0] ADY = (AW + 1)'(amod(DY));
  localparam logic [AW:0] ADF = (AW + 1)'(amod(DF));
  localparam logic signed [LW-1:0] LDEPTH = LW'(DEPTH);
  localparam logic signed [LW-1:0] LSTEP0 = LW'(STEP0);
  localparam logic signed [LW-1:0] LSTEP1 = LW'(STEP1);
  localparam logic signed [LW-1:0] LSTEP2 = LW'(STEP2);
  localparam logic signed [LW-1:0] LDX = LW'(DX);
  localparam logic signed [LW-1:0] LDY = LW'(DY);
  localparam logic signed [LW-1:0] LDF = LW'(DF);

  logic [PW-1:0] mem[0:DEPTH-1];
  logic [AW-1:0] wa, ra, sa;
  logic signed [LW-1:0] lead, lead_next, off, delta;
  logic [W0-1:0] c0;
  logic [W1-1:0] c1;
  logic [W2-1:0] c2;
  logic [WX-1:0] ox;
  logic [WY-1:0] oy;
  logic rdy, en, wr, issue, last0, last1, last2, adv, x_last, y_last;
  logic [AW-1:0] sa_next;
  logic [AW:0] delta_a;
  logic q_valid;
  logic [PW-1:0] q;

  assign s_axis_tready = rdy;
  assign wr = s_axis_tvalid && rdy;
  assign issue = en && (off < lead);
  assign last0 = (c0 == W0'(N0 - 1));
  assign last1 = (c1 == W1'(N1 - 1));
  assign last2 = (c2 == W2'(N2 - 1));
  assign adv = issue && last0 && last1 && last2;
  assign x_last = (ox == WX'(OFM_W - 1));
  assign y_last = (oy == WY'(OFM_H - 1));

  always_comb begin
    if (!x_last) begin
      delta = LDX;
      delta_a = ADX;
    end else if (!y_last) begin
      delta = LDY;
      delta_a = ADY;
    end else begin
      delta = LDF;
      delta_a = ADF;
    end
    sa_next = addr_add(sa, delta_a);
    lead_next = lead + LW'(wr) - (adv ? delta : '0);
  end

  // buffer: one write port, one synchronous read port (data only, no reset)
  always_ff @(posedge ap_clk) begin
    if (wr) mem[wa] <= s_axis_tdata[PW-1:0];
    if (en) q <= mem[ra];
  end

  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) begin
      wa <= '0;
      ra <= '0;
      sa <= '0;
      lead <= '0;
      rdy <= 1'b0;
      off <= '0;
      c0 <= '0;
      c1 <= '0;
      c2 <= '0;
      ox <= '0;
      oy <= '0;
      q_valid <= 1'b0;
    end else begin
      if (wr) wa <= addr_add(wa, (AW + 1)'(1));
      lead <= lead_next;
      rdy <= (lead_next < LDEPTH);
      if (en) q_valid <= issue;
      if (issue) begin
        if (!last0) begin
          c0 <= c0 + 1'b1;
          off <= off + LSTEP0;
          ra <= addr_add(ra, A0);
        end else if (!last1) begin
          c0 <= '0;
          c1 <= c1 + 1'b1;
          off <= off + LSTEP1;
          ra <= addr_add(ra, A1);
        end else if (!last2) begin
          c0 <= '0;
          c1 <= '0;
          c2 <= c2 + 1'b1;
          off <= off + LSTEP2;
          ra <= addr_add(ra, A2);
        end else begin
          c0 <= '0;
          c1 <= '0;
          c2 <= '0;
          off <= '0;
          sa <= sa_next;
          ra <= sa_next;
          ox <= x_last ? '0 : ox + 1'b1;
          if (x_last) oy <= y_last ? '0 : oy + 1'b1;
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
      .s_axis_tdata(WORD'(q)),
      .m_axis_tvalid(m_axis_tvalid),
      .m_axis_tready(m_axis_tready),
      .m_axis_tdata(m_axis_tdata)
  );
endmodule
