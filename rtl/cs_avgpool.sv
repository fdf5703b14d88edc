// cs_avgpool -- quantized average pooling behind a depthwise sliding window (FINN Pool,
// Function QuantAvgPool: Brevitas' QuantAvgPool2d), PE channels per word.
//
// Parameters
//   PE         channels per word
//   K2         window elements (kh*kw): the input word runs reduced to one output word
//   ELEM_BITS  input element width; SIGNED: elements (and outputs) are two's complement
//   SHIFT      right shift of the window sum (FINN's: the sum's width for unsigned
//              ELEM_BITS-bit inputs minus OUT_BITS, at least 0)
//   OUT_BITS   output element width
// Ports
//   ap_clk, ap_rst_n  clock, synchronous active-low reset
//   s_axis_*          the depthwise SWG stream: per output pixel and channel fold, K2
//                     words of PE elements (element p at [p*ELEM_BITS +: ELEM_BITS]),
//                     tdata rounded up to bytes, pad bits ignored
//   m_axis_*          per K2 input words one word, lane p the sum of the K2 words' lane p
//                     shifted right by SHIFT (arithmetically: floor), its low OUT_BITS
//                     bits at [p*OUT_BITS +: OUT_BITS] (NHWC output); pad bits zero
//
// The sum is exact (SW bits, signed); the lowering refuses a node whose shifted sums
// do not fit OUT_BITS, so nothing wraps. Control as cs_maxpool: one input word per cycle
// (FINN's estimate: the input words); the first K2-1 words of a run go into a running
// sum without looking at the output side, the last pushes its result into a 2-deep
// cs_fifo, so s_axis_tready is the registered not-full flag OR "not the last word".
// Latency: 1 cycle from the run's last word.
module cs_avgpool #(
    parameter int PE = 1,
    parameter int K2 = 4,
    parameter int ELEM_BITS = 4,
    parameter bit SIGNED = 1'b0,
    parameter int SHIFT = 2,
    parameter int OUT_BITS = 4
) (
    input  logic                                    ap_clk,
    input  logic                                    ap_rst_n,
    input  logic                                    s_axis_tvalid,
    output logic                                    s_axis_tready,
    input  logic [cs_pkg::tdata_bits(PE*ELEM_BITS)-1:0] s_axis_tdata,
    output logic                                    m_axis_tvalid,
    input  logic                                    m_axis_tready,
    output logic [ cs_pkg::tdata_bits(PE*OUT_BITS)-1:0] m_axis_tdata
);
  // exact window sum: K2 elements of ELEM_BITS (zero- or sign-extended), signed
  localparam int SW = ELEM_BITS + cs_pkg::cnt_bits(K2) + 1;
  localparam int OUT_WORD = cs_pkg::tdata_bits(PE * OUT_BITS);
  localparam int WK = cs_pkg::cnt_bits(K2);

  logic [WK-1:0] k;
  logic [PE*SW-1:0] run, sum;
  logic [PE*OUT_BITS-1:0] avg;
  logic en, last, take;

  assign last = (k == WK'(K2 - 1));
  assign s_axis_tready = !last || en;
  assign take = s_axis_tvalid && s_axis_tready;

  // lane-wise: the running sum (nothing at a run's start) plus the incoming element
  for (genvar p = 0; p < PE; p++) begin : g_lane
    logic signed [SW-1:0] x, s;
    if (SIGNED) begin : g_s
      assign x = SW'($signed(s_axis_tdata[p*ELEM_BITS+:ELEM_BITS]));
    end else begin : g_u
      assign x = $signed(SW'(s_axis_tdata[p*ELEM_BITS+:ELEM_BITS]));
    end
    assign s = (k == '0 ? '0 : $signed(run[p*SW+:SW])) + x;
    assign sum[p*SW+:SW] = s;
    assign avg[p*OUT_BITS+:OUT_BITS] = OUT_BITS'(s >>> SHIFT);
  end

  always_ff @(posedge ap_clk) begin
    if (take) run <= sum;
  end

  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) k <= '0;
    else if (take) k <= last ? '0 : k + 1'b1;
  end

  cs_fifo #(
      .WIDTH(OUT_WORD),
      .DEPTH(2)
  ) u_out (
      .ap_clk(ap_clk),
      .ap_rst_n(ap_rst_n),
      .s_axis_tvalid(s_axis_tvalid && last),
      .s_axis_tready(en),
      .s_axis_tdata(OUT_WORD'(avg)),
      .m_axis_tvalid(m_axis_tvalid),
      .m_axis_tready(m_axis_tready),
      .m_axis_tdata(m_axis_tdata)
  );
endmodule
