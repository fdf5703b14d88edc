// cs_int_softmax -- the integer softmax of codesign.attention.int_softmax over rows of N
// integer scores, PE scores per word.
//
// Per row: m = max(s); e_j = LUT[min(m - s_j, LUT_LEN - 1)]; sum = sum_j e_j;
// r = floor(2^RECIP_BITS / sum); a_j = min((e_j * r) >> (RECIP_BITS - OUT_BITS),
// 2^OUT_BITS - 1): unsigned OUT_BITS-bit codes of scale 2^-OUT_BITS.
//
// Parameters
//   N            scores per row;  PE  scores per word (divides N)
//   IN_BITS      score width;     IN_SIGNED  scores are two's complement
//   EXP_BITS     E: LUT[0] = 2^E, every entry fits E + 1 bits
//   OUT_BITS     F;               RECIP_BITS  R (>= F)
//   LUT_LEN      entries of the exponential table; LUT_FILE  its $readmemh file (one
//                entry a line)
// Ports
//   ap_clk, ap_rst_n   clock, synchronous active-low reset
//   s_axis_*           scores, lane p at [p*IN_BITS +: IN_BITS] (pad bits ignored)
//   m_axis_*           outputs, lane p at [p*OUT_BITS +: OUT_BITS] (pad bits zero)
//
// Structure: two row buffers. The input stage writes a row into one (tracking its
// maximum) while the row stage works on the other, in three phases: EXP reads the row a
// word per cycle, looks up the exponentials into the exponential buffer and sums them;
// DIV divides 2^R by the sum, one quotient bit per cycle (R + 1 cycles); OUT emits a word
// per cycle. Cycles per row without stalls: 1 + N/PE + (R + 1) + N/PE (the row stage's
// turn-around, EXP, DIV, OUT); the input stage (N/PE) is never the slower one.
module cs_int_softmax #(
    parameter int N = 16,
    parameter int PE = 1,
    parameter int IN_BITS = 16,
    parameter bit IN_SIGNED = 1'b1,
    parameter int EXP_BITS = 8,
    parameter int OUT_BITS = 8,
    parameter int RECIP_BITS = 20,
    parameter int LUT_LEN = 16,
    parameter LUT_FILE = ""
) (
    input  logic                                      ap_clk,
    input  logic                                      ap_rst_n,
    input  logic                                      s_axis_tvalid,
    output logic                                      s_axis_tready,
    input  logic [cs_pkg::tdata_bits(PE*IN_BITS)-1:0] s_axis_tdata,
    output logic                                      m_axis_tvalid,
    input  logic                                      m_axis_tready,
    output logic [cs_pkg::tdata_bits(PE*OUT_BITS)-1:0] m_axis_tdata
);
  localparam int WPR = N / PE;  // words per row
  localparam int IW = cs_pkg::cnt_bits(WPR);
  localparam int SW = IN_BITS + 1;  // scores as signed values
  localparam int EW = EXP_BITS + 1;
  localparam int SUMW = $clog2(N * (2 ** EXP_BITS) + 1);
  localparam int QW = RECIP_BITS - EXP_BITS + 1;  // r <= 2^(R - E): the sum is >= 2^E
  localparam int LW = cs_pkg::cnt_bits(LUT_LEN);
  localparam int OUT_WORD = cs_pkg::tdata_bits(PE * OUT_BITS);
  localparam logic [IN_BITS:0] LAST = (IN_BITS + 1)'(LUT_LEN - 1);

  logic [EW-1:0] lut[LUT_LEN];
  initial $readmemh(LUT_FILE, lut);

  function automatic logic signed [SW-1:0] lane(input logic [PE*IN_BITS-1:0] w, input int p);
    lane = IN_SIGNED ? SW'($signed(w[p*IN_BITS+:IN_BITS])) : $signed(SW'(w[p*IN_BITS+:IN_BITS]));
  endfunction

  // ---------------------------------------------------------------- input stage
  logic [PE*IN_BITS-1:0] sbuf[2][WPR];
  logic full[2];
  logic signed [SW-1:0] row_max[2];
  logic wr_sel, rd_sel;
  logic [IW-1:0] wr_idx;
  logic signed [SW-1:0] run_max, word_max;
  logic take, done_row;  // done_row: the row stage releases buffer rd_sel

  assign s_axis_tready = !full[wr_sel];
  assign take = s_axis_tvalid && s_axis_tready;

  always_comb begin
    word_max = lane(s_axis_tdata[PE*IN_BITS-1:0], 0);
    for (int p = 1; p < PE; p++) begin
      if (lane(s_axis_tdata[PE*IN_BITS-1:0], p) > word_max)
        word_max = lane(s_axis_tdata[PE*IN_BITS-1:0], p);
    end
    if (wr_idx != 0 && run_max > word_max) word_max = run_max;
  end

  always_ff @(posedge ap_clk) begin
    if (take) begin
      sbuf[wr_sel][wr_idx] <= s_axis_tdata[PE*IN_BITS-1:0];
      run_max <= word_max;
      if (wr_idx == IW'(WPR - 1)) row_max[wr_sel] <= word_max;
    end
  end

  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) begin
      wr_sel <= 1'b0;
      wr_idx <= '0;
      full[0] <= 1'b0;
      full[1] <= 1'b0;
    end else begin
      if (done_row) full[rd_sel] <= 1'b0;
      if (take) begin
        if (wr_idx == IW'(WPR - 1)) begin
          full[wr_sel] <= 1'b1;
          wr_sel <= !wr_sel;
          wr_idx <= '0;
        end else begin
          wr_idx <= wr_idx + 1'b1;
        end
      end
    end
  end

  // ---------------------------------------------------------------- row stage
  localparam logic [1:0] IDLE = 2'd0, EXP = 2'd1, DIV = 2'd2, OUT = 2'd3;
  logic [1:0] phase;
  logic [IW-1:0] idx;
  logic [PE*EW-1:0] ebuf[WPR];
  logic [SUMW-1:0] sum;
  logic [SUMW-1:0] rem;  // below the sum
  logic [QW-1:0] quot;
  logic [$clog2(RECIP_BITS + 2)-1:0] bit_cnt;
  logic signed [SW-1:0] m;

  // EXP: the exponentials of word idx and their sum
  function automatic logic [LW-1:0] lut_index(input logic signed [SW-1:0] mx,
                                              input logic signed [SW-1:0] s);
    logic [IN_BITS:0] diff;
    diff = (IN_BITS + 1)'(mx - s);  // >= 0: mx is the row maximum
    lut_index = (diff > LAST) ? LW'(LUT_LEN - 1) : LW'(diff);
  endfunction

  logic [PE*EW-1:0] e_word;
  logic [SUMW-1:0] e_sum;
  always_comb begin
    e_sum = '0;
    for (int p = 0; p < PE; p++) begin
      e_word[p*EW+:EW] = lut[lut_index(m, lane(sbuf[rd_sel][idx], p))];
      e_sum = e_sum + SUMW'(e_word[p*EW+:EW]);
    end
  end

  // DIV: restoring division of 2^R (a one, then R zeros) by the sum
  logic [SUMW:0] rem_next;  // the remainder shifted, with the dividend's next bit
  assign rem_next = {rem, (bit_cnt == 0)};

  // OUT: the products of word idx, shifted and clipped
  function automatic logic [OUT_BITS-1:0] scaled(input logic [EW-1:0] e, input logic [QW-1:0] r);
    logic [EW+QW-1:0] a;
    a = ((EW + QW)'(e) * (EW + QW)'(r)) >> (RECIP_BITS - OUT_BITS);
    scaled = (a > (EW + QW)'(2 ** OUT_BITS - 1)) ? OUT_BITS'(2 ** OUT_BITS - 1) : OUT_BITS'(a);
  endfunction

  logic [PE*OUT_BITS-1:0] o_word;
  always_comb begin
    for (int p = 0; p < PE; p++) o_word[p*OUT_BITS+:OUT_BITS] = scaled(ebuf[idx][p*EW+:EW], quot);
  end

  logic emit;
  assign emit = phase == OUT && (!m_axis_tvalid || m_axis_tready);
  assign done_row = phase == EXP && idx == IW'(WPR - 1);

  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) begin
      phase <= IDLE;
      rd_sel <= 1'b0;
      m_axis_tvalid <= 1'b0;
    end else begin
      if (m_axis_tready) m_axis_tvalid <= 1'b0;
      case (phase)
        IDLE:
        if (full[rd_sel]) begin
          phase <= EXP;
          idx <= '0;
          sum <= '0;
          m <= row_max[rd_sel];
        end
        EXP: begin
          ebuf[idx] <= e_word;
          sum <= sum + e_sum;
          if (done_row) begin
            phase <= DIV;
            rem <= '0;
            quot <= '0;
            bit_cnt <= '0;
            rd_sel <= !rd_sel;  // the scores are consumed: their buffer is the writer's
          end else begin
            idx <= idx + 1'b1;
          end
        end
        DIV: begin
          if (rem_next >= {1'b0, sum}) begin
            rem <= SUMW'(rem_next - {1'b0, sum});
            quot <= {quot[QW-2:0], 1'b1};
          end else begin
            rem <= SUMW'(rem_next);
            quot <= {quot[QW-2:0], 1'b0};
          end
          bit_cnt <= bit_cnt + 1'b1;
          if (bit_cnt == $bits(bit_cnt)'(RECIP_BITS)) begin
            phase <= OUT;
            idx <= '0;
          end
        end
        default:  // OUT
        if (emit) begin
          m_axis_tvalid <= 1'b1;
          m_axis_tdata <= OUT_WORD'(o_word);
          if (idx == IW'(WPR - 1)) phase <= IDLE;
          else idx <= idx + 1'b1;
        end
      endcase
    end
  end
endmodule
