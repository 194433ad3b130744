/*
 * cdot_pe: PE processing elements of rtl/mvau.v's stage 2 with CONSTANT weights (a fully
 * unrolled layer, NF*SF = 1, whose weights synthesis folds into the logic), for the cost
 * model's sub-block characterisation (benchmarks/cost/blocks.py, block "cdot").
 *
 * Each PE is blocks/dot_pe.v (the same products and adder tree as mvau.v) with its weight
 * port tied to the constants WCONST; the PEs share the input vector, as in the MVAU.
 */

`timescale 1ns / 1ps
`default_nettype none

module cdot_pe #
(
    parameter PE = 4,
    parameter SIMD = 4,
    parameter IN_BITS = 2,
    parameter IN_SIGNED = 1,
    parameter IN_BIPOLAR = 0,
    parameter W_BITS = 2,
    parameter W_SIGNED = 1,
    parameter W_BIPOLAR = 0,
    parameter OUT_W = 8,
    // PE x SIMD weights of W_BITS, PE-major: blocks.py writes them as a hex string
    parameter [PE*SIMD*W_BITS-1:0] WCONST = 0
)
(
    input  wire [SIMD*IN_BITS-1:0] x1,
    output wire [PE*OUT_W-1:0]     dot
);

genvar p;
generate
    for (p = 0; p < PE; p = p + 1) begin : pe
        dot_pe #(
            .SIMD(SIMD), .IN_BITS(IN_BITS), .IN_SIGNED(IN_SIGNED), .IN_BIPOLAR(IN_BIPOLAR),
            .W_BITS(W_BITS), .W_SIGNED(W_SIGNED), .W_BIPOLAR(W_BIPOLAR), .OUT_W(OUT_W)
        ) u (
            .x1(x1),
            .w1(WCONST[p*SIMD*W_BITS +: SIMD*W_BITS]),
            .dot(dot[p*OUT_W +: OUT_W])
        );
    end
endgenerate

endmodule

`default_nettype wire
