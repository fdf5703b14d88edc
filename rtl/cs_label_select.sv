// cs_label_select -- top-K label select (FINN LabelSelect): per frame of N_LABELS values,
// the indices of the K largest, largest first; equal values keep index order (lowest index
// first), as ONNX TopK does in FINN's Python execution.
//
// Parameters
//   N_LABELS   values per frame; NW = N_LABELS/PE input words per frame (N_LABELS % PE == 0)
//   PE         values per input word
//   K          indices output per frame (1 <= K <= N_LABELS)
//   IN_BITS    value width; IN_SIGNED: values are two's complement
//   OUT_BITS   index width in the output word (>= $clog2(N_LABELS))
// Ports
//   ap_clk, ap_rst_n  clock, synchronous active-low reset
//   s_axis_*          PE values per word (value p at [p*IN_BITS +: IN_BITS]), tdata width
//                     rounded up to bytes, pad ignored
//   m_axis_*          one index per word, K words per frame, tdata OUT_BITS rounded up to
//                     bytes, pad zero
//
// A sorted list of K (value, index) registers takes all PE values of a word per cycle
// through a chain of PE insertions (each a parallel compare + shift), so a frame is read
// in NW cycles. The last word of a frame moves the finished list into an output shift
// register, which drains one index per word; the next frame streams in meanwhile and only
// its last word waits for the previous frame's indices to drain (II = max(NW, K + 1)).
// Ready and valid come from registers only.
module cs_label_select #(
    parameter int N_LABELS = 10,
    parameter int PE = 1,
    parameter int K = 1,
    parameter int IN_BITS = 8,
    parameter bit IN_SIGNED = 1'b1,
    parameter int OUT_BITS = 8
) (
    input  logic                              ap_clk,
    input  logic                              ap_rst_n,
    input  logic                              s_axis_tvalid,
    output logic                              s_axis_tready,
    input  logic [cs_pkg::tdata_bits(PE*IN_BITS)-1:0] s_axis_tdata,
    output logic                              m_axis_tvalid,
    input  logic                              m_axis_tready,
    output logic [   cs_pkg::tdata_bits(OUT_BITS)-1:0] m_axis_tdata
);
  localparam int NW = N_LABELS / PE;
  localparam int VW = IN_BITS + 1;  // values compared as signed VW bits
  localparam int IW = cs_pkg::cnt_bits(N_LABELS);
  localparam int WCB = cs_pkg::cnt_bits(NW);
  localparam int KCB = $clog2(K + 1);

  // running top-K of the current frame
  logic [K*VW-1:0] vals;
  logic [K*IW-1:0] idxs;
  logic [K-1:0] vld;
  logic [WCB-1:0] wc;  // word index in the frame
  logic [IW-1:0] base;  // index of value 0 of the current word

  // output shift register
  logic [K*IW-1:0] out_idx;
  logic [KCB-1:0] out_cnt;

  logic last_word, push, pop;
  assign last_word = (wc == WCB'(NW - 1));
  assign s_axis_tready = !(last_word && (out_cnt != '0));
  assign push = s_axis_tvalid && s_axis_tready;
  assign m_axis_tvalid = (out_cnt != '0);
  assign pop = m_axis_tvalid && m_axis_tready;
  always_comb begin
    m_axis_tdata = '0;
    m_axis_tdata[OUT_BITS-1:0] = OUT_BITS'(out_idx[IW-1:0]);
  end

  // insertion chain: the list after all PE values of the incoming word
  logic [K*VW-1:0] cv, nv;
  logic [K*IW-1:0] ci, ni;
  logic [K-1:0] cvld, nvld, gt;
  logic signed [VW-1:0] xv;
  logic [IW-1:0] xi;

  always_comb begin
    if (wc == '0) begin
      cv = '0;
      ci = '0;
      cvld = '0;
    end else begin
      cv = vals;
      ci = idxs;
      cvld = vld;
    end
    nv = cv;
    ni = ci;
    nvld = cvld;
    gt = '0;
    xv = '0;
    xi = '0;
    for (int p = 0; p < PE; p++) begin
      if (IN_SIGNED) xv = VW'($signed(s_axis_tdata[p*IN_BITS+:IN_BITS]));
      else xv = $signed(VW'(s_axis_tdata[p*IN_BITS+:IN_BITS]));
      xi = base + IW'(p);
      // strictly greater: an equal value stays behind the earlier (lower) index
      for (int i = 0; i < K; i++) gt[i] = !cvld[i] || (xv > $signed(cv[i*VW+:VW]));
      nv = cv;
      ni = ci;
      nvld = cvld;
      if (gt[0]) begin
        nv[VW-1:0] = xv;
        ni[IW-1:0] = xi;
        nvld[0] = 1'b1;
      end
      for (int i = 1; i < K; i++) begin
        if (gt[i]) begin
          if (gt[i-1]) begin  // shift down
            nv[i*VW+:VW] = cv[(i-1)*VW+:VW];
            ni[i*IW+:IW] = ci[(i-1)*IW+:IW];
            nvld[i] = cvld[i-1];
          end else begin  // insert here
            nv[i*VW+:VW] = xv;
            ni[i*IW+:IW] = xi;
            nvld[i] = 1'b1;
          end
        end
      end
      cv = nv;
      ci = ni;
      cvld = nvld;
    end
  end

  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) begin
      wc <= '0;
      base <= '0;
      vld <= '0;
      out_cnt <= '0;
    end else begin
      if (push) begin
        wc <= last_word ? '0 : wc + 1'b1;
        base <= last_word ? '0 : base + IW'(PE);
        vals <= nv;
        idxs <= ni;
        vld <= nvld;
      end
      if (push && last_word) begin
        out_idx <= ni;
        out_cnt <= KCB'(K);
      end else if (pop) begin
        out_idx <= out_idx >> IW;
        out_cnt <= out_cnt - 1'b1;
      end
    end
  end
endmodule
