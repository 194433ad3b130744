/*
 * act_out: the last pipeline stage shared by mvau and vvau.
 *
 * Stage 4 takes a complete accumulator vector (PE values of ACC_BITS, two's complement,
 * valid = in_valid) and either applies the per-channel multi-thresholds (N_THRES > 0; the
 * thresholds of all PEs for one fold live in one ROM word at address `addr`, presented one
 * cycle before the accumulator, as the ROM is synchronous) or passes the raw accumulator
 * through (N_THRES = 0, OUT_BITS = ACC_BITS). The result is registered and leaves through an
 * axis_skid output slice, whose registered ready is `en`, the clock enable of the caller's
 * whole pipeline.
 */

`timescale 1ns / 1ps
`default_nettype none

module act_out #(
    parameter PE = 1,
    parameter ACC_BITS = 16,
    parameter N_THRES = 0,
    parameter OUT_BITS = 16,
    parameter OUT_BIAS = 0,
    parameter DEPTH = 1,          // threshold ROM words (one per fold)
    parameter AW = 1,             // threshold ROM address bits
    parameter THRES_FILE = "thresholds.mem"
) (
    input  wire                   clk,
    input  wire                   rst,
    output wire                   en,
    input  wire [AW-1:0]          addr,
    input  wire [PE*ACC_BITS-1:0] acc,
    input  wire                   in_valid,
    output wire [PE*OUT_BITS-1:0] m_axis_tdata,
    output wire                   m_axis_tvalid,
    input  wire                   m_axis_tready
);

reg                   v4_reg;
reg [PE*OUT_BITS-1:0] y4_reg;
wire [PE*OUT_BITS-1:0] y3;

genvar p;
generate
    if (N_THRES > 0) begin : g_thres
        localparam TW = PE * N_THRES * ACC_BITS;
        wire [TW-1:0] thr3;
        rom_sync #(
            .WIDTH(TW),
            .DEPTH(DEPTH),
            .INIT_FILE(THRES_FILE),
            .RAM_STYLE("auto"),
            .AW(AW)
        ) thres_rom (
            .clk(clk),
            .en(en),
            .addr(addr),
            .data(thr3)
        );
        for (p = 0; p < PE; p = p + 1) begin : act
            mt_count #(
                .V_BITS(ACC_BITS),
                .V_SIGNED(1),
                .T_BITS(ACC_BITS),
                .N_THRES(N_THRES),
                .OUT_BITS(OUT_BITS),
                .OUT_BIAS(OUT_BIAS)
            ) act_count (
                .value(acc[p*ACC_BITS +: ACC_BITS]),
                .thresholds(thr3[p*N_THRES*ACC_BITS +: N_THRES*ACC_BITS]),
                .out(y3[p*OUT_BITS +: OUT_BITS])
            );
        end
    end else begin : g_no_thres
        /* verilator lint_off UNUSEDSIGNAL */
        wire [AW-1:0] unused_addr = addr;
        /* verilator lint_on UNUSEDSIGNAL */
        assign y3 = acc;
    end
endgenerate

always @(posedge clk) begin
    if (en) begin
        v4_reg <= in_valid;
        y4_reg <= y3;
    end
    if (rst) begin
        v4_reg <= 1'b0;
    end
end

// output register slice; its registered ready enables the pipeline
axis_skid #(.WIDTH(PE*OUT_BITS)) out_skid (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata(y4_reg),
    .s_axis_tvalid(v4_reg),
    .s_axis_tready(en),
    .m_axis_tdata(m_axis_tdata),
    .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready)
);

endmodule

`default_nettype wire
