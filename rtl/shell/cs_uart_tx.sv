// cs_uart_tx -- UART transmitter, 8N1, LSB first.
//
// Parameters
//   CLKS_PER_BIT  clock cycles per bit (clock / baud, rounded), >= 1
// Ports
//   clk, rst_n                 clock, synchronous active-low reset
//   s_valid, s_ready, s_data   the byte to send (taken when both are high)
//   tx                         the serial line (idle high), driven from a flip-flop
module cs_uart_tx #(
    parameter int CLKS_PER_BIT = 104
) (
    input  logic       clk,
    input  logic       rst_n,
    input  logic       s_valid,
    output logic       s_ready,
    input  logic [7:0] s_data,
    output logic       tx
);
  localparam int CW = $clog2(CLKS_PER_BIT + 1);

  logic [8:0] shift;  // data bits then the stop bit; the start bit goes out on load
  logic [3:0] bits_left;  // bits still to send after the current one
  logic [CW-1:0] count;
  logic busy;

  assign s_ready = !busy;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      tx <= 1'b1;
      busy <= 1'b0;
      shift <= '1;
      bits_left <= '0;
      count <= '0;
    end else if (!busy) begin
      if (s_valid) begin
        tx <= 1'b0;  // start bit
        shift <= {1'b1, s_data};
        bits_left <= 4'd9;
        count <= '0;
        busy <= 1'b1;
      end
    end else if (count == CW'(CLKS_PER_BIT - 1)) begin
      count <= '0;
      if (bits_left == 0) begin
        busy <= 1'b0;  // the stop bit has lasted a full bit time
      end else begin
        tx <= shift[0];
        shift <= {1'b1, shift[8:1]};
        bits_left <= bits_left - 1'b1;
      end
    end else begin
      count <= count + 1'b1;
    end
  end
endmodule
