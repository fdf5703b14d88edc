// cs_counter -- wrapping counter 0 .. N-1, the fold and address counters of the kernels.
//
// Parameters
//   N        count modulus, >= 1 (N = 1: q stays 0 and last is always high)
// Ports
//   ap_clk, ap_rst_n  clock, synchronous active-low reset (q = 0)
//   inc               step: q becomes q + 1, or 0 after N - 1
//   q                 the count, cs_pkg::cnt_bits(N) bits
//   last              q == N - 1 (combinational from q): the next step wraps
module cs_counter #(
    parameter int N = 2
) (
    input  logic                            ap_clk,
    input  logic                            ap_rst_n,
    input  logic                            inc,
    output logic [cs_pkg::cnt_bits(N)-1:0] q,
    output logic                            last
);
  localparam int QB = cs_pkg::cnt_bits(N);

  assign last = (q == QB'(N - 1));
  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) q <= '0;
    else if (inc) q <= last ? '0 : q + 1'b1;
  end
endmodule
