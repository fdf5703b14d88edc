// cs_linear_attention -- the Taylor linear attention of codesign.attention.linear_attention:
// one pass over the tokens accumulates K^T.V, sum K and sum V per head; then each query
// takes one dh x dh product with G = N K^T V - (sum K)(sum V), the integer N K_hat^T V.
//
// Per frame: s1_axis brings the keys and s2_axis the values of N tokens (d = H*DH
// elements each, token-major), then s0_axis the N queries. Output i, head h, feature b:
//   Y = (N sumV[h][b] << SHIFT) + MULT * sum_a q[i][h][a] * G[h][a][b]
//   Z = Y >>> DOWN (DOWN >= 0) or Y << -DOWN, in OUT_BITS (two's complement)
//
// Parameters
//   N, H, DH               tokens (queries = keys), heads, features per head
//   SIMD                   elements per input word (divides H*DH)
//   PE                     products per cycle (divides DH and DH*DH)
//   Q_BITS, Q_SIGNED ...   the three operands' element types
//   MULT, SHIFT, DOWN      the integer factor C, k, and k + 2 log2(N) - f
//   W                      internal width: holds N sum(k v), (sum K)(sum V), Y exactly
//   OUT_BITS               output element width
// Ports
//   s0_axis_* queries, s1_axis_* keys, s2_axis_* values: lane s at [s*BITS +: BITS]
//   m_axis_*  outputs, one element a word (pad bits zero)
//
// Timing (no stalls): per key/value token, d/SIMD cycles to read it, one to turn, then
// H*DH*DH/PE accumulation steps; per query, d/SIMD cycles to read it, then H*DH*(DH/PE)
// product steps, one output per DH/PE steps. Cycles per frame:
// N*(2*d/SIMD + 1 + 2*H*DH*DH/PE).
module cs_linear_attention #(
    parameter int N = 4,
    parameter int H = 1,
    parameter int DH = 2,
    parameter int SIMD = 1,
    parameter int PE = 1,
    parameter int Q_BITS = 8,
    parameter bit Q_SIGNED = 1'b1,
    parameter int K_BITS = 8,
    parameter bit K_SIGNED = 1'b1,
    parameter int V_BITS = 8,
    parameter bit V_SIGNED = 1'b1,
    parameter int MULT = 1,
    parameter int SHIFT = 0,
    parameter int DOWN = 0,
    parameter int W = 48,
    parameter int OUT_BITS = 16
) (
    input  logic                                       ap_clk,
    input  logic                                       ap_rst_n,
    input  logic                                       s0_axis_tvalid,
    output logic                                       s0_axis_tready,
    input  logic [cs_pkg::tdata_bits(SIMD*Q_BITS)-1:0] s0_axis_tdata,
    input  logic                                       s1_axis_tvalid,
    output logic                                       s1_axis_tready,
    input  logic [cs_pkg::tdata_bits(SIMD*K_BITS)-1:0] s1_axis_tdata,
    input  logic                                       s2_axis_tvalid,
    output logic                                       s2_axis_tready,
    input  logic [cs_pkg::tdata_bits(SIMD*V_BITS)-1:0] s2_axis_tdata,
    output logic                                       m_axis_tvalid,
    input  logic                                       m_axis_tready,
    output logic [cs_pkg::tdata_bits(OUT_BITS)-1:0]    m_axis_tdata
);
  localparam int D = H * DH;
  localparam int WPT = D / SIMD;  // words per token
  localparam int NACC = H * DH * DH / PE;  // accumulation steps per token
  localparam int NDOT = DH / PE;  // product steps per output
  localparam int OW = cs_pkg::tdata_bits(OUT_BITS);

  // phases: KV reads a key/value token, ACC accumulates it; Q reads a query, DOT makes
  // its outputs
  localparam logic [1:0] KV = 2'd0, ACC = 2'd1, Q = 2'd2, DOT = 2'd3;
  logic [1:0] phase;

  logic signed [W-1:0] kv[H*DH*DH];  // sum_j k[j][h][a] v[j][h][b] at (h*DH + a)*DH + b
  logic signed [W-1:0] sk[D], sv[D];
  logic signed [W-1:0] kreg[D], vreg[D], qreg[D];

  // operand elements as W-bit signed values
  function automatic logic signed [W-1:0] q_at(input logic [SIMD*Q_BITS-1:0] w, input int s);
    q_at = Q_SIGNED ? W'($signed(w[s*Q_BITS+:Q_BITS])) : W'(w[s*Q_BITS+:Q_BITS]);
  endfunction
  function automatic logic signed [W-1:0] k_at(input logic [SIMD*K_BITS-1:0] w, input int s);
    k_at = K_SIGNED ? W'($signed(w[s*K_BITS+:K_BITS])) : W'(w[s*K_BITS+:K_BITS]);
  endfunction
  function automatic logic signed [W-1:0] v_at(input logic [SIMD*V_BITS-1:0] w, input int s);
    v_at = V_SIGNED ? W'($signed(w[s*V_BITS+:V_BITS])) : W'(w[s*V_BITS+:V_BITS]);
  endfunction

  logic [cs_pkg::cnt_bits(N)-1:0] tok;
  logic [cs_pkg::cnt_bits(WPT+1)-1:0] wk, wv;  // words of the key / value token read
  logic [cs_pkg::cnt_bits(WPT)-1:0] wq;
  logic [cs_pkg::cnt_bits(NACC)-1:0] step;
  logic [cs_pkg::cnt_bits(D)-1:0] o;  // the query's output (h*DH + b)
  logic [cs_pkg::cnt_bits(NDOT)-1:0] t;
  logic signed [W-1:0] dot;

  logic k_done, v_done;
  assign k_done = wk == $bits(wk)'(WPT);
  assign v_done = wv == $bits(wv)'(WPT);
  assign s1_axis_tready = phase == KV && !k_done;
  assign s2_axis_tready = phase == KV && !v_done;
  assign s0_axis_tready = phase == Q;

  // ACC: the product added to kv entry e = (h*DH + a)*DH + b
  function automatic logic signed [W-1:0] kv_term(input int e);
    int h, a, b;
    h = e / (DH * DH);
    a = (e / DH) % DH;
    b = e % DH;
    kv_term = kreg[h*DH+a] * vreg[h*DH+b];
  endfunction

  // DOT: PE terms q[h][a] * G[h][a][b] of output o, a = t*PE + p
  function automatic logic signed [W-1:0] dot_terms(input int oo, input int tt);
    int h, b, a;
    logic signed [W-1:0] g;
    h = oo / DH;
    b = oo % DH;
    dot_terms = '0;
    for (int p = 0; p < PE; p++) begin
      a = tt * PE + p;
      g = N * kv[(h * DH + a) * DH + b] - sk[h * DH + a] * sv[h * DH + b];
      dot_terms = dot_terms + qreg[h * DH + a] * g;
    end
  endfunction

  // the dot product of output o after step tt, and the output word it makes; called at
  // the clock edge (not in continuous logic, whose sensitivity to the arrays a function
  // reads simulators differ on)
  function automatic logic signed [W-1:0] dot_after(input int oo, input int tt,
                                                    input logic signed [W-1:0] sofar);
    dot_after = (tt == 0 ? '0 : sofar) + dot_terms(oo, tt);
  endfunction

  function automatic logic [OW-1:0] out_word(input int oo, input logic signed [W-1:0] d);
    logic signed [W-1:0] y;
    // the bits modulo 2^W are those of the exact value, which W holds
    y = ((W'(N) * sv[oo]) <<< SHIFT) + W'(MULT) * d;
    // a size cast keeps the signedness: made unsigned, the pad bits are zero
    out_word = OW'($unsigned(OUT_BITS'((DOWN >= 0) ? (y >>> DOWN) : (y <<< -DOWN))));
  endfunction

  logic out_free, last_t;
  assign out_free = !m_axis_tvalid || m_axis_tready;
  assign last_t = t == $bits(t)'(NDOT - 1);

  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) begin
      phase <= KV;
      tok <= '0;
      wk <= '0;
      wv <= '0;
      wq <= '0;
      step <= '0;
      o <= '0;
      t <= '0;
      m_axis_tvalid <= 1'b0;
      for (int c = 0; c < D; c++) begin
        sk[c] <= '0;
        sv[c] <= '0;
      end
      for (int e = 0; e < H * DH * DH; e++) kv[e] <= '0;
    end else begin
      if (m_axis_tready) m_axis_tvalid <= 1'b0;
      case (phase)
        KV: begin
          if (s1_axis_tvalid && !k_done) begin
            for (int s = 0; s < SIMD; s++) begin
              kreg[int'(wk)*SIMD+s] <= k_at(s1_axis_tdata[SIMD*K_BITS-1:0], s);
              sk[int'(wk)*SIMD+s] <= sk[int'(wk)*SIMD+s] + k_at(s1_axis_tdata[SIMD*K_BITS-1:0], s);
            end
            wk <= wk + 1'b1;
          end
          if (s2_axis_tvalid && !v_done) begin
            for (int s = 0; s < SIMD; s++) begin
              vreg[int'(wv)*SIMD+s] <= v_at(s2_axis_tdata[SIMD*V_BITS-1:0], s);
              sv[int'(wv)*SIMD+s] <= sv[int'(wv)*SIMD+s] + v_at(s2_axis_tdata[SIMD*V_BITS-1:0], s);
            end
            wv <= wv + 1'b1;
          end
          if (k_done && v_done) begin
            phase <= ACC;
            wk <= '0;
            wv <= '0;
          end
        end
        ACC: begin
          for (int p = 0; p < PE; p++)
            kv[int'(step)*PE+p] <= kv[int'(step)*PE+p] + kv_term(int'(step) * PE + p);
          if (step == $bits(step)'(NACC - 1)) begin
            step <= '0;
            if (tok == $bits(tok)'(N - 1)) begin
              tok <= '0;
              phase <= Q;
            end else begin
              tok <= tok + 1'b1;
              phase <= KV;
            end
          end else begin
            step <= step + 1'b1;
          end
        end
        Q:
        if (s0_axis_tvalid) begin
          for (int s = 0; s < SIMD; s++) qreg[int'(wq)*SIMD+s] <= q_at(s0_axis_tdata[SIMD*Q_BITS-1:0], s);
          if (wq == $bits(wq)'(WPT - 1)) begin
            wq <= '0;
            phase <= DOT;
          end else begin
            wq <= wq + 1'b1;
          end
        end
        default:  // DOT
        if (!last_t || out_free) begin
          dot <= dot_after(int'(o), int'(t), dot);
          if (last_t) begin
            t <= '0;
            m_axis_tvalid <= 1'b1;
            m_axis_tdata <= out_word(int'(o), dot_after(int'(o), int'(t), dot));
            if (o == $bits(o)'(D - 1)) begin
              o <= '0;
              if (tok == $bits(tok)'(N - 1)) begin
                tok <= '0;
                phase <= KV;
                for (int c = 0; c < D; c++) begin
                  sk[c] <= '0;
                  sv[c] <= '0;
                end
                for (int e = 0; e < H * DH * DH; e++) kv[e] <= '0;
              end else begin
                tok <= tok + 1'b1;
                phase <= Q;
              end
            end else begin
              o <= o + 1'b1;
            end
          end else begin
            t <= t + 1'b1;
          end
        end
      endcase
    end
  end
endmodule
