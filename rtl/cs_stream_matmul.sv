// cs_stream_matmul -- a matrix product of two streamed operands, per attention head: the
// attention scores Q.K^T (MODE 0) or the mix A.V (MODE 1). The operand read N times (K or
// V) is buffered whole; the other streams row by row, as the vector of an MVAU whose
// weight matrix is the buffer.
//
// Per frame, s1_axis brings B: NK tokens x H heads x DH features (token-major), and s0_axis
// brings NA rows (query i, head h; row r = i*H + h) of K elements each:
//   MODE 0 (scores): K = DH, MH = NK outputs, out[r][j] = sum_c a[r][c] * B[j][h][c]
//   MODE 1 (mix):    K = NK, MH = DH outputs, out[r][c] = sum_j a[r][j] * B[j][h][c]
// Outputs are exact sums in ACC_BITS (wrapping; sized from the data types, they never do).
//
// Parameters
//   NA, H, NK, DH, MODE    as above (NA a multiple of H)
//   PE, SIMD               outputs per output word, a elements per input word (PE | MH,
//                          SIMD | K)
//   BPE                    B elements per s1 word (divides NK*H*DH)
//   A_BITS, A_SIGNED       a's elements;  B_BITS, B_SIGNED  B's elements
//   ACC_BITS               output element width (two's complement; OUT_SIGNED says whether
//                          the output type is signed, which leaves the bits unchanged)
// Ports
//   s0_axis_*   a words, lane s at [s*A_BITS +: A_BITS];  s1_axis_*  B words, likewise
//   m_axis_*    outputs, lane p at [p*ACC_BITS +: ACC_BITS] (pad bits zero)
//
// Timing: a frame first loads B (NK*H*DH/BPE cycles, s0 waits), then computes like an
// MVAU: per a row (MH/PE)*(K/SIMD) cycles, the row's words read from s0 during its first
// output fold and kept for the others. Cycles per frame without stalls:
// NK*H*DH/BPE + NA*(MH/PE)*(K/SIMD).
module cs_stream_matmul #(
    parameter int NA = 4,
    parameter int H = 1,
    parameter int NK = 4,
    parameter int DH = 4,
    parameter bit MODE = 1'b0,
    parameter int PE = 1,
    parameter int SIMD = 1,
    parameter int BPE = 1,
    parameter int A_BITS = 8,
    parameter bit A_SIGNED = 1'b1,
    parameter int B_BITS = 8,
    parameter bit B_SIGNED = 1'b1,
    parameter int ACC_BITS = 24,
    /* verilator lint_off UNUSEDPARAM */
    parameter bit OUT_SIGNED = 1'b1  // informational: the output's type (the bits are the same)
    /* verilator lint_on UNUSEDPARAM */
) (
    input  logic                                        ap_clk,
    input  logic                                        ap_rst_n,
    input  logic                                        s0_axis_tvalid,
    output logic                                        s0_axis_tready,
    input  logic [cs_pkg::tdata_bits(SIMD*A_BITS)-1:0]  s0_axis_tdata,
    input  logic                                        s1_axis_tvalid,
    output logic                                        s1_axis_tready,
    input  logic [cs_pkg::tdata_bits(BPE*B_BITS)-1:0]   s1_axis_tdata,
    output logic                                        m_axis_tvalid,
    input  logic                                        m_axis_tready,
    output logic [cs_pkg::tdata_bits(PE*ACC_BITS)-1:0]  m_axis_tdata
);
  localparam int K = MODE ? NK : DH;
  localparam int MH = MODE ? DH : NK;
  localparam int SF = K / SIMD;
  localparam int NF = MH / PE;
  localparam int BWORDS = NK * H * DH / BPE;
  localparam int AW = A_BITS + (A_SIGNED ? 0 : 1);  // as signed values
  localparam int BW = B_BITS + (B_SIGNED ? 0 : 1);
  localparam int OUT_WORD = cs_pkg::tdata_bits(PE * ACC_BITS);

  // ---------------------------------------------------------------- B buffer
  logic [B_BITS-1:0] bbuf[NK*H*DH];
  logic loading;
  logic [cs_pkg::cnt_bits(BWORDS)-1:0] bptr;
  assign s1_axis_tready = loading;

  always_ff @(posedge ap_clk) begin
    if (loading && s1_axis_tvalid) begin
      for (int p = 0; p < BPE; p++) bbuf[int'(bptr)*BPE+p] <= s1_axis_tdata[p*B_BITS+:B_BITS];
    end
  end

  function automatic logic signed [AW-1:0] a_lane(input logic [SIMD*A_BITS-1:0] w, input int s);
    a_lane = A_SIGNED ? AW'($signed(w[s*A_BITS+:A_BITS])) : $signed(AW'(w[s*A_BITS+:A_BITS]));
  endfunction

  // ---------------------------------------------------------------- compute
  logic [cs_pkg::cnt_bits(NA)-1:0] row;
  logic [cs_pkg::cnt_bits(H)-1:0] head;
  logic [cs_pkg::cnt_bits(NF)-1:0] nf;
  logic [cs_pkg::cnt_bits(SF)-1:0] sf;
  logic [SIMD*A_BITS-1:0] areg[SF];
  logic [SIMD*A_BITS-1:0] a_word;
  logic signed [ACC_BITS-1:0] acc[PE];
  logic last_sf, out_free, step;

  assign last_sf = sf == $bits(sf)'(SF - 1);
  assign out_free = !m_axis_tvalid || m_axis_tready;
  assign a_word = (nf == 0) ? s0_axis_tdata[SIMD*A_BITS-1:0] : areg[sf];
  // a step: the a word is there (read from s0 in the first fold) and, when it completes
  // an output word, the output register is free
  assign step = !loading && (nf != 0 || s0_axis_tvalid) && (!last_sf || out_free);
  assign s0_axis_tready = !loading && nf == 0 && (!last_sf || out_free);

  // B's elements of this step: lane p's output m = nf*PE + p, row element k = sf*SIMD + s
  // (read directly here, so that every simulator sees the buffer as an input of it)
  logic [B_BITS-1:0] bsel[PE*SIMD];
  always_comb begin
    for (int p = 0; p < PE; p++) begin
      for (int s = 0; s < SIMD; s++) begin
        bsel[p*SIMD+s] = MODE
            ? bbuf[((int'(sf) * SIMD + s) * H + int'(head)) * DH + int'(nf) * PE + p]
            : bbuf[((int'(nf) * PE + p) * H + int'(head)) * DH + int'(sf) * SIMD + s];
      end
    end
  end

  function automatic logic signed [BW-1:0] b_val(input logic [B_BITS-1:0] raw);
    b_val = B_SIGNED ? BW'($signed(raw)) : $signed(BW'(raw));
  endfunction

  // the accumulators after this step, as the output word
  logic [PE*ACC_BITS-1:0] sums;
  always_comb begin
    for (int p = 0; p < PE; p++) begin
      logic signed [ACC_BITS-1:0] lane;
      lane = (sf == 0) ? '0 : acc[p];
      for (int s = 0; s < SIMD; s++)
        lane = lane + ACC_BITS'(a_lane(a_word, s)) * ACC_BITS'(b_val(bsel[p*SIMD+s]));
      sums[p*ACC_BITS+:ACC_BITS] = lane;
    end
  end

  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) begin
      loading <= 1'b1;
      bptr <= '0;
      row <= '0;
      head <= '0;
      nf <= '0;
      sf <= '0;
      m_axis_tvalid <= 1'b0;
    end else begin
      if (m_axis_tready) m_axis_tvalid <= 1'b0;
      if (loading && s1_axis_tvalid) begin
        if (bptr == $bits(bptr)'(BWORDS - 1)) begin
          loading <= 1'b0;
          bptr <= '0;
        end else begin
          bptr <= bptr + 1'b1;
        end
      end
      if (step) begin
        if (nf == 0) areg[sf] <= a_word;
        for (int p = 0; p < PE; p++) acc[p] <= sums[p*ACC_BITS+:ACC_BITS];
        if (last_sf) begin
          m_axis_tvalid <= 1'b1;
          m_axis_tdata <= OUT_WORD'(sums);
          sf <= '0;
          if (nf == $bits(nf)'(NF - 1)) begin
            nf <= '0;
            head <= (head == $bits(head)'(H - 1)) ? '0 : head + 1'b1;
            if (row == $bits(row)'(NA - 1)) begin
              row <= '0;
              loading <= 1'b1;
            end else begin
              row <= row + 1'b1;
            end
          end else begin
            nf <= nf + 1'b1;
          end
        end else begin
          sf <= sf + 1'b1;
        end
      end
    end
  end
endmodule
