// cs_maxpool -- max pooling behind a depthwise sliding window (FINN Pool, Function
// MaxPool), PE channels per word.
//
// Parameters
//   PE         channels per word
//   K2         window elements (kh*kw): the input word runs reduced to one output word
//   ELEM_BITS  element width; SIGNED: elements are two's complement
// Ports
//   ap_clk, ap_rst_n  clock, synchronous active-low reset
//   s_axis_*          the depthwise SWG stream: per output pixel and channel fold, K2
//                     words of PE elements (element p at [p*ELEM_BITS +: ELEM_BITS]),
//                     tdata rounded up to bytes, pad bits ignored
//   m_axis_*          per K2 input words one word, lane p the maximum of the K2 words'
//                     lane p (NHWC output); pad bits zero
//
// The kernel needs neither channels nor image size: every K2 consecutive words reduce
// to one. One input word per cycle (FINN's estimate: the input words). The first K2-1
// words of a run go into a running maximum without looking at the output side; the last
// one pushes max(running, word) into a 2-deep cs_fifo, so s_axis_tready is the
// registered not-full flag OR "not the last word" (flip-flops only, no path from
// m_axis_tready). Latency: 1 cycle from the run's last word.
module cs_maxpool #(
    parameter int PE = 1,
    parameter int K2 = 4,
    parameter int ELEM_BITS = 8,
    parameter bit SIGNED = 1'b0
) (
    input  logic                                 ap_clk,
    input  logic                                 ap_rst_n,
    input  logic                                 s_axis_tvalid,
    output logic                                 s_axis_tready,
    input  logic [cs_pkg::tdata_bits(PE*ELEM_BITS)-1:0] s_axis_tdata,
    output logic                                 m_axis_tvalid,
    input  logic                                 m_axis_tready,
    output logic [cs_pkg::tdata_bits(PE*ELEM_BITS)-1:0] m_axis_tdata
);
  localparam int PW = PE * ELEM_BITS;
  localparam int WORD = cs_pkg::tdata_bits(PW);
  localparam int WK = cs_pkg::cnt_bits(K2);

  logic [WK-1:0] k;
  logic [PW-1:0] run, best;
  logic en, last, take;

  assign last = (k == WK'(K2 - 1));
  assign s_axis_tready = !last || en;
  assign take = s_axis_tvalid && s_axis_tready;

  // lane-wise maximum of the running value and the incoming word (the word alone at a
  // run's start)
  for (genvar p = 0; p < PE; p++) begin : g_lane
    logic [ELEM_BITS-1:0] a, b;
    logic a_wins;
    assign a = run[p*ELEM_BITS+:ELEM_BITS];
    assign b = s_axis_tdata[p*ELEM_BITS+:ELEM_BITS];
    if (SIGNED) begin : g_s
      assign a_wins = $signed(a) > $signed(b);
    end else begin : g_u
      assign a_wins = a > b;
    end
    assign best[p*ELEM_BITS+:ELEM_BITS] = (k != '0 && a_wins) ? a : b;
  end

  always_ff @(posedge ap_clk) begin
    if (take) run <= best;
  end

  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) k <= '0;
    else if (take) k <= last ? '0 : k + 1'b1;
  end

  cs_fifo #(
      .WIDTH(WORD),
      .DEPTH(2)
  ) u_out (
      .ap_clk(ap_clk),
      .ap_rst_n(ap_rst_n),
      .s_axis_tvalid(s_axis_tvalid && last),
      .s_axis_tready(en),
      .s_axis_tdata(WORD'(best)),
      .m_axis_tvalid(m_axis_tvalid),
      .m_axis_tready(m_axis_tready),
      .m_axis_tdata(m_axis_tdata)
  );
endmodule
