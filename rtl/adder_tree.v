/*
 * adder_tree: combinational binary adder tree summing N operands of IN_W bits.
 *
 * Level l of the tree holds ceil(N / 2^l) partial sums of IN_W + l bits (each level adds one
 * bit, so no overflow is possible); an odd operand out is passed up unchanged. The result has
 * OUT_W = IN_W + clog2(N) bits. With SIGNED = 0 the operands are unsigned (a popcount is
 * N = bits, IN_W = 1); with SIGNED = 1 they are two's complement. Used for the dot products
 * of the MVAU and the threshold counts, instead of a serial accumulation loop.
 */

`timescale 1ns / 1ps
`default_nettype none

module adder_tree #
(
    // number of operands (>= 1)
    parameter N = 4,
    // width of one operand (bits)
    parameter IN_W = 8,
    // 1: operands are two's complement, 0: unsigned
    parameter SIGNED = 1,
    // width of the sum (derived, do not override)
    parameter OUT_W = IN_W + $clog2(N)
)
(
    // operand i at [i*IN_W +: IN_W]
    input  wire [N*IN_W-1:0] operands,
    output wire [OUT_W-1:0]  sum
);

localparam LEVELS = $clog2(N);

generate
    if (N < 1 || IN_W < 1) begin : g_bad_size
        adder_tree_parameters_N_and_IN_W_must_be_at_least_1 invalid_parameter ();
    end
    if (OUT_W != IN_W + LEVELS) begin : g_bad_out_w
        adder_tree_parameter_OUT_W_must_be_IN_W_plus_clog2_N invalid_parameter ();
    end
endgenerate

genvar l, i;
generate
`ifdef VERILATOR
    if (IN_W == 1 && SIGNED == 0) begin : g_popcount
        // Simulation model of the popcount tree (1-bit unsigned operands): Verilator inlines
        // a tree of N-1 adders into one C++ expression (a fully unrolled 784-input layer made
        // ~50 MB of C++ that took minutes to compile); $countones is one word-wise loop.
        // Same value by construction; synthesis always sees the explicit tree below.
        /* verilator lint_off UNUSEDSIGNAL */
        wire [31:0] count = $countones(operands);
        /* verilator lint_on UNUSEDSIGNAL */
        assign sum = count[OUT_W-1:0];
    end else
`endif
    begin : g_tree
        for (l = 0; l <= LEVELS; l = l + 1) begin : lvl
            // partial sums at this level and their width
            localparam NL = ((N - 1) >> l) + 1;
            localparam WL = IN_W + l;
            wire [NL*WL-1:0] v;
            if (l == 0) begin : g_leaves
                assign v = operands;
            end else begin : g_nodes
                localparam NP = ((N - 1) >> (l - 1)) + 1;
                localparam WP = WL - 1;
                for (i = 0; i < NL; i = i + 1) begin : node
                    wire [WP-1:0] a = lvl[l-1].v[(2*i)*WP +: WP];
                    wire          a_ext = (SIGNED != 0) ? a[WP-1] : 1'b0;
                    if (2 * i + 1 < NP) begin : g_pair
                        wire [WP-1:0] b = lvl[l-1].v[(2*i+1)*WP +: WP];
                        wire          b_ext = (SIGNED != 0) ? b[WP-1] : 1'b0;
                        assign v[i*WL +: WL] = {a_ext, a} + {b_ext, b};
                    end else begin : g_single
                        assign v[i*WL +: WL] = {a_ext, a};
                    end
                end
            end
        end
        assign sum = lvl[LEVELS].v;
    end
endgenerate

endmodule

`default_nettype wire
