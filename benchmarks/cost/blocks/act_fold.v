/*
 * act_fold: the activation stage of rtl/mvau.v and rtl/vvau.v (rtl/act_out.v) with its
 * threshold ROM addressed as those layers address it, for the cost model's sub-block
 * characterisation (benchmarks/cost/blocks.py, block "fold"): a fold counter that advances
 * once per output vector (here when `step` is high) and a pipeline copy of it, registered
 * with the pipeline's enable, as mvau.v's nf2_reg. Yosys maps this ROM differently from
 * rtl/thresholding.v's, whose address is the counter itself (blocks/rom_ctr.v): it can take
 * the copy as the ROM's address register and read the ROM at the counter's own value.
 */

`timescale 1ns / 1ps
`default_nettype none

module act_fold #
(
    parameter PE = 2,
    parameter ACC_BITS = 8,
    parameter N_THRES = 1,
    parameter OUT_BITS = 1,
    parameter DEPTH = 4,
    parameter THRES_FILE = "thresholds.mem"
)
(
    input  wire                   clk,
    input  wire                   rst,
    input  wire                   step,
    input  wire                   in_valid,
    input  wire [PE*ACC_BITS-1:0] acc,
    output wire [PE*OUT_BITS-1:0] m_axis_tdata,
    output wire                   m_axis_tvalid,
    input  wire                   m_axis_tready
);

localparam AW = DEPTH > 1 ? $clog2(DEPTH) : 1;
/* verilator lint_off WIDTHTRUNC */
localparam [AW-1:0] LAST = DEPTH - 1;
/* verilator lint_on WIDTHTRUNC */

wire          en;
reg [AW-1:0]  nf_reg;
reg [AW-1:0]  nf2_reg;
reg [PE*ACC_BITS-1:0] acc_reg;
reg           v_reg;

always @(posedge clk) begin
    if (en) begin
        if (step) begin
            nf_reg <= (nf_reg == LAST) ? {AW{1'b0}} : nf_reg + 1'b1;
        end
        nf2_reg <= nf_reg;
        acc_reg <= acc;
        v_reg <= in_valid;
    end
    if (rst) begin
        nf_reg <= {AW{1'b0}};
        v_reg <= 1'b0;
    end
end

act_out #(
    .PE(PE),
    .ACC_BITS(ACC_BITS),
    .N_THRES(N_THRES),
    .OUT_BITS(OUT_BITS),
    .OUT_BIAS(0),
    .DEPTH(DEPTH),
    .AW(AW),
    .THRES_FILE(THRES_FILE)
) act (
    .clk(clk),
    .rst(rst),
    .en(en),
    .addr(nf2_reg),
    .acc(acc_reg),
    .in_valid(v_reg),
    .m_axis_tdata(m_axis_tdata),
    .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready)
);

endmodule

`default_nettype wire
