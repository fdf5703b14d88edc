// Techmap of the lut6.txt ROM tile onto a Xilinx LUT6. A tile that reads the same
// constant at every address is that constant (no LUT). Undefined words (a depth that is
// no multiple of 64) were set to 0 before this map (setundef -zero -params).
module \$__CS_LUTROM6_ (PORT_R_ADDR, PORT_R_RD_DATA);
  parameter [63:0] INIT = 64'd0;
  input [5:0] PORT_R_ADDR;
  output PORT_R_RD_DATA;
  generate
    if (INIT == 64'd0) begin : g_zero
      assign PORT_R_RD_DATA = 1'b0;
    end else if (INIT == ~64'd0) begin : g_one
      assign PORT_R_RD_DATA = 1'b1;
    end else begin : g_lut
      LUT6 #(.INIT(INIT)) _TECHMAP_REPLACE_ (
        .O(PORT_R_RD_DATA),
        .I0(PORT_R_ADDR[0]), .I1(PORT_R_ADDR[1]), .I2(PORT_R_ADDR[2]),
        .I3(PORT_R_ADDR[3]), .I4(PORT_R_ADDR[4]), .I5(PORT_R_ADDR[5])
      );
    end
  endgenerate
endmodule
