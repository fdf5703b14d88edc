// Techmap of the lut4.txt ROM tile onto a Gowin LUT4 (see xilinx.v).
module \$__CS_LUTROM4_ (PORT_R_ADDR, PORT_R_RD_DATA);
  parameter [15:0] INIT = 16'd0;
  input [3:0] PORT_R_ADDR;
  output PORT_R_RD_DATA;
  generate
    if (INIT == 16'd0) begin : g_zero
      assign PORT_R_RD_DATA = 1'b0;
    end else if (INIT == ~16'd0) begin : g_one
      assign PORT_R_RD_DATA = 1'b1;
    end else begin : g_lut
      LUT4 #(.INIT(INIT)) _TECHMAP_REPLACE_ (
        .F(PORT_R_RD_DATA),
        .I0(PORT_R_ADDR[0]), .I1(PORT_R_ADDR[1]), .I2(PORT_R_ADDR[2]), .I3(PORT_R_ADDR[3])
      );
    end
  endgenerate
endmodule
