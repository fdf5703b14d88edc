// cs_uart_rx -- UART receiver, 8 data bits, no parity, 1 stop bit (8N1), LSB first.
//
// Parameters
//   CLKS_PER_BIT  clock cycles per bit (clock / baud, rounded), >= 4
// Ports
//   clk, rst_n        clock, synchronous active-low reset
//   rx                the serial line (idle high); synchronized here (two flip-flops)
//   m_valid, m_data   one received byte, valid for one cycle (no back-pressure: a UART
//                     cannot wait, the consumer must take it)
//   frame_err         one cycle: a byte whose stop bit read low was dropped
//
// A start bit is a low level seen for half a bit time after a falling edge (a glitch
// shorter than that is ignored); every data bit and the stop bit are then sampled one
// bit time apart, i.e. in the middle of the bit.
module cs_uart_rx #(
    parameter int CLKS_PER_BIT = 104
) (
    input  logic       clk,
    input  logic       rst_n,
    input  logic       rx,
    output logic       m_valid,
    output logic [7:0] m_data,
    output logic       frame_err
);
  localparam int CW = $clog2(CLKS_PER_BIT + 1);
  typedef enum logic [1:0] {IDLE, START, DATA, STOP} state_t;

  logic rx_meta, rx_sync;
  state_t state;
  logic [CW-1:0] count;
  logic [2:0] bit_idx;
  logic [7:0] shift;

  initial begin
    if (CLKS_PER_BIT < 4) $error("cs_uart_rx: CLKS_PER_BIT must be >= 4");
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      rx_meta <= 1'b1;
      rx_sync <= 1'b1;
    end else begin
      rx_meta <= rx;
      rx_sync <= rx_meta;
    end
  end

  always_ff @(posedge clk) begin
    m_valid <= 1'b0;
    frame_err <= 1'b0;
    if (!rst_n) begin
      state <= IDLE;
      count <= '0;
      bit_idx <= '0;
      shift <= '0;
      m_data <= '0;
    end else begin
      case (state)
        IDLE: begin
          count <= '0;
          if (!rx_sync) state <= START;
        end
        START: begin
          if (rx_sync) begin
            state <= IDLE;  // shorter than half a bit: a glitch
          end else if (count == CW'(CLKS_PER_BIT / 2 - 1)) begin
            count <= '0;
            bit_idx <= '0;
            state <= DATA;
          end else begin
            count <= count + 1'b1;
          end
        end
        DATA: begin
          if (count == CW'(CLKS_PER_BIT - 1)) begin
            count <= '0;
            shift <= {rx_sync, shift[7:1]};
            bit_idx <= bit_idx + 1'b1;
            if (bit_idx == 3'd7) state <= STOP;
          end else begin
            count <= count + 1'b1;
          end
        end
        STOP: begin
          if (count == CW'(CLKS_PER_BIT - 1)) begin
            count <= '0;
            state <= IDLE;
            if (rx_sync) begin
              m_valid <= 1'b1;
              m_data <= shift;
            end else begin
              frame_err <= 1'b1;
            end
          end else begin
            count <= count + 1'b1;
          end
        end
        default: state <= IDLE;
      endcase
    end
  end
endmodule
