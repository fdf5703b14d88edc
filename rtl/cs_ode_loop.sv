// cs_ode_loop -- loop controller of the Neural-ODE engine: one frame makes ITERATIONS
// passes through a body (instantiated once, beside this module), the frame on chip.
//
// Parameters
//   ITERATIONS  T >= 1, passes per frame
//   WORDS       stream words per frame (the body's input and output alike)
//   WIDTH       tdata width in bits
// Ports
//   ap_clk, ap_rst_n                      clock, synchronous active-low reset
//   s_axis_tvalid/tready/tdata[WIDTH]     frames from upstream (read by pass 0)
//   m_axis_tvalid/tready/tdata[WIDTH]     frames after the last pass
//   mb_axis_tvalid/tready/tdata[WIDTH]    into the body
//   sb_axis_tvalid/tready/tdata[WIDTH]    out of the body
//
// Pass 0 streams the frame from s_axis into the body; passes 1 .. T-1 stream it from the
// frame buffer (WORDS x WIDTH), which passes 0 .. T-2 overwrite in place with their
// output; the output of pass T-1 goes to m_axis. Reads and writes each count passes and
// words in stream order. `lead` = words read into the body minus words out of it (the
// words inside the body): a read needs lead < WORDS, so the previous pass has written
// the word first, and a write needs lead > 0, so the current pass has read the word it
// overwrites. One buffer suffices, and the next frame's pass 0 overlaps the drain of
// the last pass. The buffer has a synchronous read into an output register (`rb`), so
// it maps to block or LUT RAM. T = 1 is a plain pass-through of the body.
module cs_ode_loop #(
    parameter int ITERATIONS = 2,
    parameter int WORDS = 16,
    parameter int WIDTH = 8
) (
    input  logic             ap_clk,
    input  logic             ap_rst_n,
    input  logic             s_axis_tvalid,
    output logic             s_axis_tready,
    input  logic [WIDTH-1:0] s_axis_tdata,
    output logic             m_axis_tvalid,
    input  logic             m_axis_tready,
    output logic [WIDTH-1:0] m_axis_tdata,
    output logic             mb_axis_tvalid,
    input  logic             mb_axis_tready,
    output logic [WIDTH-1:0] mb_axis_tdata,
    input  logic             sb_axis_tvalid,
    output logic             sb_axis_tready,
    input  logic [WIDTH-1:0] sb_axis_tdata
);
  localparam int LB = cs_pkg::cnt_bits(WORDS + 1);
  localparam int AB = cs_pkg::cnt_bits(WORDS);

  logic [LB-1:0] lead;
  logic can_read, can_write;
  // T = 1 has no buffer to protect: the body runs at its own pace
  assign can_read = (ITERATIONS == 1) || (lead < LB'(WORDS));
  assign can_write = (ITERATIONS == 1) || (lead != '0);

  // ---------------------------------------------------------------- read side
  logic [AB-1:0] rd_idx;
  logic rd_idx_last, rd_pass_last, rd_first_pass;
  logic [cs_pkg::cnt_bits(ITERATIONS)-1:0] rd_pass;
  logic rb_valid;
  logic [WIDTH-1:0] rb_data;
  logic take_up, fetch, read_ev;

  assign rd_first_pass = (rd_pass == '0);
  // a buffered word always precedes the words of the next pass 0
  assign s_axis_tready = !rb_valid && rd_first_pass && can_read && mb_axis_tready;
  assign take_up = s_axis_tvalid && s_axis_tready;
  assign fetch = !rd_first_pass && can_read && (!rb_valid || mb_axis_tready);
  assign read_ev = take_up || fetch;

  assign mb_axis_tvalid = rb_valid || (rd_first_pass && s_axis_tvalid && can_read);
  assign mb_axis_tdata = rb_valid ? rb_data : s_axis_tdata;

  cs_counter #(.N(WORDS)) u_rd_idx (
      .ap_clk, .ap_rst_n, .inc(read_ev), .q(rd_idx), .last(rd_idx_last)
  );
  cs_counter #(.N(ITERATIONS)) u_rd_pass (
      .ap_clk, .ap_rst_n, .inc(read_ev && rd_idx_last), .q(rd_pass), .last(rd_pass_last)
  );

  // ---------------------------------------------------------------- write side
  logic [AB-1:0] wr_idx;
  logic wr_idx_last, wr_pass_last, write_ev;
  logic [cs_pkg::cnt_bits(ITERATIONS)-1:0] wr_pass;

  assign sb_axis_tready = can_write && (!wr_pass_last || m_axis_tready);
  assign m_axis_tvalid = wr_pass_last && can_write && sb_axis_tvalid;
  assign m_axis_tdata = sb_axis_tdata;
  assign write_ev = sb_axis_tvalid && sb_axis_tready;

  cs_counter #(.N(WORDS)) u_wr_idx (
      .ap_clk, .ap_rst_n, .inc(write_ev), .q(wr_idx), .last(wr_idx_last)
  );
  cs_counter #(.N(ITERATIONS)) u_wr_pass (
      .ap_clk, .ap_rst_n, .inc(write_ev && wr_idx_last), .q(wr_pass), .last(wr_pass_last)
  );

  // ---------------------------------------------------------------- frame buffer
  if (ITERATIONS > 1) begin : g_buf
    logic [WIDTH-1:0] mem[0:WORDS-1];
    always_ff @(posedge ap_clk) begin
      if (write_ev && !wr_pass_last) mem[wr_idx] <= sb_axis_tdata;
      if (fetch) rb_data <= mem[rd_idx];
    end
  end else begin : g_no_buf
    assign rb_data = '0;
  end

  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) begin
      rb_valid <= 1'b0;
      lead <= '0;
    end else begin
      if (fetch) rb_valid <= 1'b1;
      else if (mb_axis_tready) rb_valid <= 1'b0;
      lead <= lead + LB'(read_ev) - LB'(write_ev);
    end
  end
endmodule
