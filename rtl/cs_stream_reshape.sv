// cs_stream_reshape -- a Reshape between HW layers: the tensor is relabelled, its elements
// stream in the same order, so the words pass through unchanged (no logic, no latency).
//
// Parameters
//   PE, BITS   elements per word and element width (the same on both sides)
// Ports
//   ap_clk, ap_rst_n   unused (kept for the top level's uniform wiring)
//   s_axis_*           words in;  m_axis_*  the same words out
module cs_stream_reshape #(
    parameter int PE = 1,
    parameter int BITS = 8
) (
    /* verilator lint_off UNUSEDSIGNAL */
    input  logic                                   ap_clk,
    input  logic                                   ap_rst_n,
    /* verilator lint_on UNUSEDSIGNAL */
    input  logic                                   s_axis_tvalid,
    output logic                                   s_axis_tready,
    input  logic [cs_pkg::tdata_bits(PE*BITS)-1:0] s_axis_tdata,
    output logic                                   m_axis_tvalid,
    input  logic                                   m_axis_tready,
    output logic [cs_pkg::tdata_bits(PE*BITS)-1:0] m_axis_tdata
);
  localparam int W = cs_pkg::tdata_bits(PE * BITS);
  assign m_axis_tvalid = s_axis_tvalid;
  assign s_axis_tready = m_axis_tready;
  // pad bits above the payload are zero on the output, whatever came in
  assign m_axis_tdata = W'(s_axis_tdata[PE*BITS-1:0]);
endmodule
