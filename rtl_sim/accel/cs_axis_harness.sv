// cs_axis_harness -- HDL-side streaming testbench around a generated accelerator.
//
// Streams the input words of a vectors folder into accel_top's s_axis, compares every
// m_axis word with the expected words, all inside the simulator: no Python runs per
// clock cycle. cocotb (rtl_sim.accel.test_harness) or a native C++ main sets the cfg_*
// inputs while ap_rst_n is low, releases reset, waits for `done` and reads the counters;
// the clock comes from ap_clk (the native main, or cocotb's GPI clock) or from the
// harness itself (CLOCK_HALF).
//
// Stalls: one xorshift32 generator per port, seeded by cfg_in_seed / cfg_out_seed
// (nonzero) and advanced every cycle out of reset. A port stalls in a cycle when the
// generator's low 16 bits are below its cfg_*_stall (probability * 65536): s_axis then
// offers no new word (a word already offered stays valid until taken, as AXI-Stream
// requires) and m_axis_tready is low in the next cycle. rtl_sim.accel.stalls models the
// same sequence for the Python driver, so both drivers see the same stalls.
//
// Pacing: cfg_frame_period = 0 offers words whenever the in-stall generator allows.
// cfg_frame_period = P > 0 paces every word at P cycles a frame: word w of input frame k
// is offered in no cycle before c0 + k*P + floor(w*P/IN_WPF), c0 the cycle word 0 of
// frame 0 is offered in (at once: cycle 2, as the first rising edge out of reset sets the
// first tvalid). A source at the design's own rate, as a throttled DMA is
// (codesign.dataflow.fifos sizes FIFOs this way, P = the estimated II): a FIFO then holds
// the skew between producer and consumer, not a frame that arrived faster than it can be
// used. The schedule is fixed, so a word offered late (a stall, backpressure) lets the
// following ones catch up. A wait for a word's cycle is not idleness (idle_in stays 0),
// but the output may idle while the input waits: cfg_watchdog must exceed those gaps.
//
// Counting: cycle n is the n-th rising edge after reset release (the first is 1). A
// word is taken in the cycle whose rising edge samples tvalid && tready. `cycles` is the
// cycle that took the last expected output word; `latency` the cycle that took the last
// word of frame 0; frame k's end cycle is that of its last word, and ii_sum / ii_count /
// ii_min / ii_max cover the gaps between consecutive frame ends after frame 0.
// timing_hash folds the cycle of every expected output word (h = 33*h ^ cycle, from 0;
// rtl_sim.accel.record.timing_hash), so equal hashes mean equal cycle-by-cycle timing.
// After the last expected word the harness keeps m_axis_tready high for cfg_drain
// cycles and counts any further word in extra_words. When a stream that still has
// words to move makes no transfer for cfg_watchdog cycles, `done` rises with `timeout`
// set (a deadlock; idle_in / idle_out and the word counters tell which stream stalled).
//
// Clock: CLOCK_HALF = 0 (default) clocks the harness and accel_top from ap_clk. CLOCK_HALF
// > 0 ignores ap_clk and runs a free clock `clk` of period 2*CLOCK_HALF time units (from
// 0, first rising edge at CLOCK_HALF) inside the simulator (Verilator needs --timing):
// the simulator then calls no testbench code per clock edge, and cocotb only waits on
// `clk` during reset and on `done`. Cycle counting is the same either way.
//
// Files: IN_FILE holds IN_WORDS input words and EXP_FILE OUT_WORDS expected words (one
// hex word per line, codesign.backends.vectors). cfg_frames may exceed the frames in the
// files: both wrap around, so long runs need no longer files.
module cs_axis_harness #(
    parameter int IN_BITS = 8,  // s_axis tdata width of accel_top
    parameter int OUT_BITS = 8,  // m_axis tdata width
    parameter int N_OVF = 1,  // width of accel_top's ovf port
    parameter int IN_WORDS = 1,  // words in IN_FILE
    parameter int OUT_WORDS = 1,  // words in EXP_FILE
    parameter int IN_WPF = 1,  // input words per frame
    parameter int OUT_WPF = 1,  // output words per frame
    parameter int CLOCK_HALF = 0,  // > 0: internal clock, half period in time units
    parameter IN_FILE = "harness_input.hex",
    parameter EXP_FILE = "harness_expected.hex"
) (
    input  logic                ap_clk,
    input  logic                ap_rst_n,
    input  logic [        31:0] cfg_frames,
    input  logic [        15:0] cfg_in_stall,
    input  logic [        15:0] cfg_out_stall,
    input  logic [        31:0] cfg_in_seed,
    input  logic [        31:0] cfg_out_seed,
    input  logic [        31:0] cfg_watchdog,
    input  logic [        31:0] cfg_drain,
    input  logic [        31:0] cfg_frame_period,
    output logic                done,
    output logic                timeout,
    output logic [        31:0] words_in,
    output logic [        31:0] words_out,
    output logic [        31:0] frames_done,
    output logic [        31:0] mismatches,
    output logic [        31:0] extra_words,
    output logic [        63:0] cycles,
    output logic [        31:0] first_frame,
    output logic [        31:0] first_word,
    output logic [OUT_BITS-1:0] first_expected,
    output logic [OUT_BITS-1:0] first_got,
    output logic [        31:0] latency,
    output logic [        63:0] ii_sum,
    output logic [        31:0] ii_count,
    output logic [        31:0] ii_min,
    output logic [        31:0] ii_max,
    output logic [        31:0] idle_in,
    output logic [        31:0] idle_out,
    output logic [        31:0] timing_hash,
    output logic [   N_OVF-1:0] ovf,
    output logic                s_axis_tready,
    output logic                m_axis_tvalid
);
  localparam int IAW = (IN_WORDS > 1) ? $clog2(IN_WORDS) : 1;
  localparam int OAW = (OUT_WORDS > 1) ? $clog2(OUT_WORDS) : 1;

  logic clk;  // the clock of everything below
  if (CLOCK_HALF > 0) begin : g_clk
    logic gen = 1'b0;
    always #(CLOCK_HALF) gen = ~gen;
    assign clk = gen;
  end else begin : g_ext
    assign clk = ap_clk;
  end

  logic [IN_BITS-1:0] in_mem[0:IN_WORDS-1];
  logic [OUT_BITS-1:0] exp_mem[0:OUT_WORDS-1];
  initial begin
    $readmemh(IN_FILE, in_mem);
    $readmemh(EXP_FILE, exp_mem);
  end

  logic s_axis_tvalid, m_axis_tready;
  logic [IN_BITS-1:0] s_axis_tdata;
  logic [OUT_BITS-1:0] m_axis_tdata;

  accel_top dut (
      .ap_clk(clk),
      .ap_rst_n(ap_rst_n),
      .s_axis_tvalid(s_axis_tvalid),
      .s_axis_tready(s_axis_tready),
      .s_axis_tdata(s_axis_tdata),
      .m_axis_tvalid(m_axis_tvalid),
      .m_axis_tready(m_axis_tready),
      .m_axis_tdata(m_axis_tdata),
      .ovf(ovf)
  );

  function automatic logic [31:0] xorshift32(input logic [31:0] x);
    logic [31:0] y;
    y = x ^ (x << 13);
    y = y ^ (y >> 17);
    xorshift32 = y ^ (y << 5);
  endfunction

  logic [31:0] lfsr_in, lfsr_out;
  logic stall_in, stall_out;
  assign stall_in = lfsr_in[15:0] < cfg_in_stall;
  assign stall_out = lfsr_out[15:0] < cfg_out_stall;

  logic [63:0] cyc;  // the cycle whose rising edge comes next
  logic take_in, take_out;
  assign take_in = s_axis_tvalid && s_axis_tready;
  assign take_out = m_axis_tvalid && m_axis_tready;

  // ------------------------------------------------------------------ source
  logic [31:0] in_left;  // words not yet offered
  logic [IAW-1:0] in_ptr;
  logic [63:0] word_at;  // the first cycle the next word may be offered in (0: unset)
  logic [31:0] pace_rem;  // floor(n*P/IN_WPF) by steps of P/IN_WPF: its remainder
  logic [31:0] pace_q, pace_r;  // P = pace_q*IN_WPF + pace_r
  logic [31:0] rem_next;
  logic [63:0] at_next;
  logic paced;  // the next word's cycle has not come
  assign pace_q = cfg_frame_period / IN_WPF;
  assign pace_r = cfg_frame_period % IN_WPF;
  assign rem_next = pace_rem + pace_r;
  // the schedule is anchored at the cycle word 0 is offered in; a word set at this edge
  // is offered in the next cycle, cyc + 1
  assign at_next = (word_at == 0 ? cyc + 64'd1 : word_at) + 64'(pace_q)
                   + 64'(rem_next >= IN_WPF);
  assign paced = cyc + 64'd1 < word_at;
  always_ff @(posedge clk) begin
    if (!ap_rst_n) begin
      s_axis_tvalid <= 1'b0;
      in_left <= cfg_frames * IN_WPF;
      in_ptr <= '0;
      word_at <= '0;
      pace_rem <= '0;
      words_in <= '0;
    end else if (!done) begin
      if (take_in) words_in <= words_in + 1;
      if (!s_axis_tvalid || s_axis_tready) begin
        if (in_left != 0 && !stall_in && !paced) begin
          s_axis_tdata <= in_mem[in_ptr];
          s_axis_tvalid <= 1'b1;
          in_ptr <= (in_ptr == IAW'(IN_WORDS - 1)) ? '0 : in_ptr + 1'b1;
          in_left <= in_left - 1;
          word_at <= at_next;
          pace_rem <= rem_next >= IN_WPF ? rem_next - IN_WPF : rem_next;
        end else begin
          s_axis_tvalid <= 1'b0;
        end
      end
    end
  end

  // ------------------------------------------------------------------ sink and check
  logic [31:0] out_left;  // expected words not yet received
  logic [OAW-1:0] out_ptr;
  logic [31:0] word_idx;  // word within the current frame
  logic [63:0] last_end;  // end cycle of the previous frame
  logic [31:0] drain;  // cycles left to watch for extra words
  logic [31:0] gap;
  logic [OUT_BITS-1:0] want;
  assign want = exp_mem[out_ptr];
  assign gap = 32'(cyc - last_end);

  always_ff @(posedge clk) begin
    if (!ap_rst_n) begin
      m_axis_tready <= 1'b0;
      out_left <= cfg_frames * OUT_WPF;
      out_ptr <= '0;
      word_idx <= '0;
      words_out <= '0;
      frames_done <= '0;
      mismatches <= '0;
      extra_words <= '0;
      first_frame <= '0;
      first_word <= '0;
      first_expected <= '0;
      first_got <= '0;
      cycles <= '0;
      latency <= '0;
      last_end <= '0;
      ii_sum <= '0;
      ii_count <= '0;
      ii_min <= '1;
      ii_max <= '0;
      timing_hash <= '0;
      drain <= cfg_drain;
    end else if (!done) begin
      m_axis_tready <= (out_left == 0) || !stall_out;
      if (take_out && out_left != 0) begin
        out_left <= out_left - 1;
        out_ptr <= (out_ptr == OAW'(OUT_WORDS - 1)) ? '0 : out_ptr + 1'b1;
        words_out <= words_out + 1;
        timing_hash <= ((timing_hash << 5) + timing_hash) ^ cyc[31:0];
        if (m_axis_tdata != want) begin
          if (mismatches == 0) begin
            first_frame <= frames_done;
            first_word <= word_idx;
            first_expected <= want;
            first_got <= m_axis_tdata;
          end
          mismatches <= mismatches + 1;
        end
        if (out_left == 1) cycles <= cyc;
        if (word_idx == OUT_WPF - 1) begin
          word_idx <= '0;
          frames_done <= frames_done + 1;
          last_end <= cyc;
          if (frames_done == 0) begin
            latency <= 32'(cyc);
          end else begin
            ii_sum <= ii_sum + 64'(gap);
            ii_count <= ii_count + 1;
            if (gap < ii_min) ii_min <= gap;
            if (gap > ii_max) ii_max <= gap;
          end
        end else begin
          word_idx <= word_idx + 1;
        end
      end else if (take_out) begin
        extra_words <= extra_words + 1;
      end
      if (out_left == 0) drain <= drain - 1;
    end
  end

  // ------------------------------------------------------------------ clock, watchdog
  always_ff @(posedge clk) begin
    if (!ap_rst_n) begin
      cyc <= 64'd1;
      lfsr_in <= cfg_in_seed;
      lfsr_out <= cfg_out_seed;
      idle_in <= '0;
      idle_out <= '0;
      done <= 1'b0;
      timeout <= 1'b0;
    end else if (!done) begin
      cyc <= cyc + 1;
      lfsr_in <= xorshift32(lfsr_in);
      lfsr_out <= xorshift32(lfsr_out);
      idle_in <= (take_in || ((in_left == 0 || paced) && !s_axis_tvalid)) ? '0 : idle_in + 1;
      idle_out <= (take_out || out_left == 0) ? '0 : idle_out + 1;
      if (out_left == 0 && drain == 0) begin
        done <= 1'b1;
      end else if (idle_in >= cfg_watchdog || idle_out >= cfg_watchdog) begin
        done <= 1'b1;
        timeout <= 1'b1;
      end
    end
  end
endmodule
