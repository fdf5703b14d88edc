// cs_uart_shell -- makes an accelerator usable over a UART: bytes in, words out.
//
// Byte framing (codesign.uart_framing is the host's side of the same rules):
//   * every input stream word of IN_BITS bits travels as IN_BYTES = ceil(IN_BITS / 8)
//     bytes, least significant byte first; bits above IN_BITS in the last byte are
//     sent as 0 and ignored;
//   * every output stream word of OUT_BITS bits comes back as OUT_BYTES bytes, least
//     significant byte first;
//   * a frame is the accelerator's words per frame; no header, no checksum: the shell
//     is a byte pipe around the streams. The host sends one frame and reads its answer
//     before sending the next; the reset button (or power-up) realigns a broken frame.
//   * UART: 8 data bits, no parity, 1 stop bit, CLKS_PER_BIT clock cycles per bit.
//
// Parameters
//   CLKS_PER_BIT     clock / baud (rounded)
//   IN_BITS          width of the accelerator's input stream words (s_axis_tdata)
//   OUT_BITS         width of its output stream words (m_axis_tdata)
//   OUT_DEPTH        output words buffered in the shell (>= 2; one frame's worth lets
//                    the accelerator finish a frame while the transmitter drains it)
//   RESET_ACTIVE_LOW polarity of the reset button
//   LED_ACTIVE_LOW   polarity of the LEDs
// Ports
//   clk              board clock; rst_btn the reset button (synchronized here)
//   uart_rx/uart_tx  the serial line (FPGA's view)
//   led[0]           sticky error: a byte arrived while its word was still waiting for
//                    the accelerator (overrun) or a byte had a bad stop bit
//   led[1]           toggles with every output word sent
//   ap_rst_n         reset for the accelerator (power-on or button), synchronous
//   acc_s_*          to the accelerator's input stream; acc_m_* from its output stream
module cs_uart_shell #(
    parameter int CLKS_PER_BIT = 104,
    parameter int IN_BITS = 8,
    parameter int OUT_BITS = 8,
    parameter int OUT_DEPTH = 2,
    parameter bit RESET_ACTIVE_LOW = 1'b1,
    parameter bit LED_ACTIVE_LOW = 1'b0
) (
    input  logic                clk,
    input  logic                rst_btn,
    input  logic                uart_rx,
    output logic                uart_tx,
    output logic [1:0]          led,
    output logic                ap_rst_n,
    output logic                acc_s_tvalid,
    input  logic                acc_s_tready,
    output logic [IN_BITS-1:0]  acc_s_tdata,
    input  logic                acc_m_tvalid,
    output logic                acc_m_tready,
    input  logic [OUT_BITS-1:0] acc_m_tdata
);
  localparam int IN_BYTES = (IN_BITS + 7) / 8;
  localparam int OUT_BYTES = (OUT_BITS + 7) / 8;
  localparam int IBW = $clog2(IN_BYTES + 1);
  localparam int OBW = $clog2(OUT_BYTES + 1);
  localparam int OSW = OUT_BYTES * 8;

  // ------------------------------------------------------------------ reset
  // held for 16 cycles after configuration (flip-flops start at their initial value)
  // and while the button is pressed
  logic btn_meta = 1'b0, btn_sync = 1'b0;
  logic [4:0] por = '0;
  always_ff @(posedge clk) begin
    btn_meta <= rst_btn ^ RESET_ACTIVE_LOW;  // 1 = pressed
    btn_sync <= btn_meta;
    if (btn_sync) por <= '0;
    else if (!por[4]) por <= por + 1'b1;
  end
  logic rst_n;
  assign rst_n = por[4];
  assign ap_rst_n = rst_n;

  // ------------------------------------------------------------------ bytes in -> words
  logic rx_valid, rx_err;
  logic [7:0] rx_data;
  cs_uart_rx #(.CLKS_PER_BIT(CLKS_PER_BIT)) u_rx (
      .clk(clk), .rst_n(rst_n), .rx(uart_rx),
      .m_valid(rx_valid), .m_data(rx_data), .frame_err(rx_err)
  );

  logic [IN_BYTES*8-1:0] in_shift;
  logic [IBW-1:0] in_count;  // bytes of the word being assembled
  logic overrun;
  assign acc_s_tdata = in_shift[IN_BITS-1:0];

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      in_shift <= '0;
      in_count <= '0;
      acc_s_tvalid <= 1'b0;
      overrun <= 1'b0;
    end else begin
      if (acc_s_tvalid && acc_s_tready) acc_s_tvalid <= 1'b0;
      if (rx_err) overrun <= 1'b1;
      if (rx_valid) begin
        if (acc_s_tvalid && !acc_s_tready) begin
          overrun <= 1'b1;  // the previous word is still waiting: this byte is lost
        end else begin
          if (IN_BYTES == 1) in_shift <= rx_data;
          else in_shift <= {rx_data, in_shift[IN_BYTES*8-1:8]};
          if (in_count == IBW'(IN_BYTES - 1)) begin
            in_count <= '0;
            acc_s_tvalid <= 1'b1;
          end else begin
            in_count <= in_count + 1'b1;
          end
        end
      end
    end
  end

  // ------------------------------------------------------------------ words -> bytes out
  logic q_valid, q_ready;
  logic [OUT_BITS-1:0] q_data;
  cs_fifo #(.WIDTH(OUT_BITS), .DEPTH(OUT_DEPTH)) u_out_fifo (
      .ap_clk(clk), .ap_rst_n(rst_n),
      .s_axis_tvalid(acc_m_tvalid), .s_axis_tready(acc_m_tready), .s_axis_tdata(acc_m_tdata),
      .m_axis_tvalid(q_valid), .m_axis_tready(q_ready), .m_axis_tdata(q_data)
  );

  logic [OUT_BYTES*8-1:0] out_shift;
  logic [OBW-1:0] out_left;  // bytes of the current word still to send
  logic tx_ready;
  logic sent_toggle;
  assign q_ready = (out_left == 0);

  cs_uart_tx #(.CLKS_PER_BIT(CLKS_PER_BIT)) u_tx (
      .clk(clk), .rst_n(rst_n), .s_valid(out_left != 0), .s_ready(tx_ready),
      .s_data(out_shift[7:0]), .tx(uart_tx)
  );

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      out_shift <= '0;
      out_left <= '0;
      sent_toggle <= 1'b0;
    end else if (out_left == 0) begin
      if (q_valid) begin
        out_shift <= OSW'(q_data);
        out_left <= OBW'(OUT_BYTES);
        sent_toggle <= !sent_toggle;
      end
    end else if (tx_ready) begin
      out_shift <= out_shift >> 8;
      out_left <= out_left - 1'b1;
    end
  end

  assign led = {sent_toggle, overrun} ^ {2{LED_ACTIVE_LOW}};
endmodule
