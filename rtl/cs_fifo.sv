// cs_fifo -- AXI-Stream FIFO with registered outputs.
//
// Parameters
//   WIDTH  tdata width in bits (callers use a multiple of 8; any width >= 1 works)
//   DEPTH  capacity in words, >= 2 (DEPTH-1 words of RAM plus the output register)
// Ports
//   ap_clk, ap_rst_n                   clock, synchronous active-low reset
//   s_axis_tvalid/tready/tdata[WIDTH]  input stream
//   m_axis_tvalid/tready/tdata[WIDTH]  output stream
//
// Every output is a flip-flop: m_axis_tvalid/tdata come from the output register and
// s_axis_tready is a registered "not full" flag, so there is no combinational path
// between the two sides (m_axis_tready -> s_axis_tready or s_axis_tvalid -> m_axis_tvalid).
// Because s_axis_tready does not look at a same-cycle pop, a full FIFO accepts again one
// cycle after a pop; below full it sustains one word per cycle in and out.
// The RAM has a synchronous read into the output register so Yosys can map deep FIFOs
// to block/LUT RAM; an empty RAM is bypassed straight into the output register.
// `peak` holds the most words the FIFO held at once since reset (output register
// included): FIFO sizing reads it through the hierarchy in simulation. It drives no
// port, so synthesis removes it.
module cs_fifo #(
    parameter int WIDTH = 8,
    parameter int DEPTH = 2
) (
    input  logic             ap_clk,
    input  logic             ap_rst_n,
    input  logic             s_axis_tvalid,
    output logic             s_axis_tready,
    input  logic [WIDTH-1:0] s_axis_tdata,
    output logic             m_axis_tvalid,
    input  logic             m_axis_tready,
    output logic [WIDTH-1:0] m_axis_tdata
);
  localparam int MEMD = (DEPTH > 2) ? DEPTH - 1 : 1;  // RAM words
  localparam int AW = (MEMD > 1) ? $clog2(MEMD) : 1;
  localparam int CW = $clog2(DEPTH + 1);

  logic [WIDTH-1:0] mem[0:MEMD-1];
  logic [AW-1:0] wr_ptr, rd_ptr;
  logic [CW-1:0] mem_cnt;  // words in the RAM (not counting the output register)
  logic out_valid;
  logic not_full;

  // continuous assigns (event-driven nets) rather than always_comb: cheaper in Icarus
  logic push, pop, load_out, from_mem, to_mem;
  assign push = s_axis_tvalid && not_full;
  assign pop = out_valid && m_axis_tready;
  assign load_out = !out_valid || pop;  // output register free (or freed) this cycle
  assign from_mem = load_out && (mem_cnt != 0);
  // a pushed word bypasses the RAM only when the RAM is empty and the output frees
  assign to_mem = push && !(load_out && (mem_cnt == 0));

  assign s_axis_tready = not_full;
  assign m_axis_tvalid = out_valid;

  // RAM write port and synchronous read into the output register (no reset: data only)
  always_ff @(posedge ap_clk) begin
    if (to_mem) mem[wr_ptr] <= s_axis_tdata;
    if (from_mem) m_axis_tdata <= mem[rd_ptr];
    else if (load_out && push) m_axis_tdata <= s_axis_tdata;
  end

  logic [CW-1:0] total_next;
  assign total_next = mem_cnt + CW'(out_valid) + CW'(push) - CW'(pop);

  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) begin
      wr_ptr <= '0;
      rd_ptr <= '0;
      mem_cnt <= '0;
      out_valid <= 1'b0;
      not_full <= 1'b0;
    end else begin
      if (to_mem) wr_ptr <= (wr_ptr == AW'(MEMD - 1)) ? '0 : wr_ptr + 1'b1;
      if (from_mem) rd_ptr <= (rd_ptr == AW'(MEMD - 1)) ? '0 : rd_ptr + 1'b1;
      mem_cnt <= mem_cnt + CW'(to_mem) - CW'(from_mem);
      if (load_out) out_valid <= from_mem || push;
      not_full <= (total_next < CW'(DEPTH));
    end
  end

  logic [CW-1:0] peak;
  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) peak <= '0;
    else if (total_next > peak) peak <= total_next;
  end
endmodule
