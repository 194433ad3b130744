/*
 * rdot_pe: PE processing elements of rtl/mvau.v whose weights come from a small soft-logic
 * ROM (blocks/rom_ctr.v: rtl/rom_sync.v, DEPTH words of PE*SIMD weights, behind a wrapping
 * address counter like mvau.v's weight address), for the cost model's sub-block characterisation
 * (benchmarks/cost/blocks.py, block "rdot"). With 2-4 words and narrow inputs synthesis
 * merges the ROM, the products and the first adder level, which neither dot_pe.v (weights on
 * a port) nor cdot_pe.v (constant weights) shows. The input word is registered as in
 * mvau.v's stage 1 and each PE's sum as in its stage 2; the LUTs are those of the ROM, the
 * products and the adder trees.
 */

`timescale 1ns / 1ps
`default_nettype none

module rdot_pe #
(
    parameter PE = 4,
    parameter SIMD = 4,
    parameter DEPTH = 4,
    parameter IN_BITS = 2,
    parameter IN_SIGNED = 1,
    parameter IN_BIPOLAR = 0,
    parameter W_BITS = 2,
    parameter W_SIGNED = 1,
    parameter W_BIPOLAR = 0,
    parameter OUT_W = 8,
    parameter INIT_FILE = "rom.mem"
)
(
    input  wire                    clk,
    input  wire                    rst,
    input  wire                    en,
    input  wire [SIMD*IN_BITS-1:0] x,
    output reg  [PE*OUT_W-1:0]     dot_reg
);

reg [SIMD*IN_BITS-1:0] x1_reg;
wire [PE*SIMD*W_BITS-1:0] w1;
wire [PE*OUT_W-1:0]    dot;

always @(posedge clk) begin
    if (en) begin
        x1_reg <= x;
        dot_reg <= dot;
    end
end

// the weight ROM behind its wrapping address counter (blocks/rom_ctr.v)
rom_ctr #(
    .WIDTH(PE * SIMD * W_BITS),
    .DEPTH(DEPTH),
    .INIT_FILE(INIT_FILE)
) rom (
    .clk(clk),
    .rst(rst),
    .en(en),
    .data(w1)
);

genvar p;
generate
    for (p = 0; p < PE; p = p + 1) begin : pe
        dot_pe #(
            .SIMD(SIMD),
            .IN_BITS(IN_BITS),
            .IN_SIGNED(IN_SIGNED),
            .IN_BIPOLAR(IN_BIPOLAR),
            .W_BITS(W_BITS),
            .W_SIGNED(W_SIGNED),
            .W_BIPOLAR(W_BIPOLAR),
            .OUT_W(OUT_W)
        ) u (
            .x1(x1_reg),
            .w1(w1[p*SIMD*W_BITS +: SIMD*W_BITS]),
            .dot(dot[p*OUT_W +: OUT_W])
        );
    end
endgenerate

endmodule

`default_nettype wire
