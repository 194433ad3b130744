/*
 * dot_pe: the stage-2 datapath of ONE processing element of rtl/mvau.v, on its own, for the
 * cost model's sub-block characterisation (benchmarks/cost/blocks.py).
 *
 * SIMD products of an input element and a weight (XNOR, +-x / +-w for one BIPOLAR operand,
 * else a signed product of the operands extended to signed numbers), summed by
 * rtl/adder_tree.v, the sum truncated to OUT_W bits: the same generate code as mvau.v's
 * stage 2 (kept in step with it by hand). In mvau.v the operands come from the stage-1
 * registers and the sum goes to the stage-2 register, so this module's ports stand for
 * those registers and its LUTs are what one PE's products and adder tree cost.
 */

`timescale 1ns / 1ps
`default_nettype none

module dot_pe #
(
    parameter SIMD = 4,
    parameter IN_BITS = 4,
    parameter IN_SIGNED = 1,
    parameter IN_BIPOLAR = 0,
    parameter W_BITS = 4,
    parameter W_SIGNED = 1,
    parameter W_BIPOLAR = 0,
    // bits of the sum kept (the accumulator width when it is below SUM_BITS)
    parameter OUT_W = 8
)
(
    input  wire [SIMD*IN_BITS-1:0] x1,
    input  wire [SIMD*W_BITS-1:0]  w1,
    output wire [OUT_W-1:0]        dot
);

localparam XNOR = (IN_BIPOLAR != 0) && (W_BIPOLAR != 0);
localparam XE = IN_BITS + (IN_SIGNED != 0 ? 0 : 1);
localparam WE = W_BITS + (W_SIGNED != 0 ? 0 : 1);
localparam P_BITS = XNOR ? 1 :
                    (IN_BIPOLAR != 0) ? W_BITS + 1 :
                    (W_BIPOLAR != 0) ? IN_BITS + 1 : XE + WE;
localparam P_SIGNED = XNOR ? 0 : 1;
localparam SUM_BITS = P_BITS + $clog2(SIMD);

wire [SIMD*P_BITS-1:0] prods;
wire [SUM_BITS-1:0]    sum;
genvar s;
generate
    if (XNOR) begin : g_xnor
        assign prods = ~(x1 ^ w1);
    end
    for (s = 0; s < SIMD && !XNOR; s = s + 1) begin : simd
        wire [IN_BITS-1:0] x = x1[s*IN_BITS +: IN_BITS];
        wire [W_BITS-1:0]  w = w1[s*W_BITS +: W_BITS];
        wire [P_BITS-1:0]  prod;
        if (IN_BIPOLAR != 0) begin : g_in_bipolar
            wire [P_BITS-1:0] wv;
            if (W_SIGNED != 0) begin : g_ws
                assign wv = {w[W_BITS-1], w};
            end else begin : g_wu
                assign wv = {1'b0, w};
            end
            assign prod = x[0] ? wv : (~wv + 1'b1);
        end else if (W_BIPOLAR != 0) begin : g_w_bipolar
            wire [P_BITS-1:0] xv;
            if (IN_SIGNED != 0) begin : g_xs
                assign xv = {x[IN_BITS-1], x};
            end else begin : g_xu
                assign xv = {1'b0, x};
            end
            assign prod = w[0] ? xv : (~xv + 1'b1);
        end else begin : g_mul
            wire [XE-1:0] xv;
            wire [WE-1:0] wv;
            if (IN_SIGNED != 0) begin : g_xs
                assign xv = x;
            end else begin : g_xu
                assign xv = {1'b0, x};
            end
            if (W_SIGNED != 0) begin : g_ws
                assign wv = w;
            end else begin : g_wu
                assign wv = {1'b0, w};
            end
            wire signed [P_BITS-1:0] m = $signed(xv) * $signed(wv);
            assign prod = m;
        end
        assign prods[s*P_BITS +: P_BITS] = prod;
    end
endgenerate

adder_tree #(
    .N(SIMD),
    .IN_W(P_BITS),
    .SIGNED(P_SIGNED),
    .OUT_W(SUM_BITS)
) tree (
    .operands(prods),
    .sum(sum)
);

generate
    if (OUT_W >= SUM_BITS) begin : g_ext
        wire msb = (P_SIGNED != 0) ? sum[SUM_BITS-1] : 1'b0;
        if (OUT_W > SUM_BITS) begin : g_more
            assign dot = {{(OUT_W-SUM_BITS){msb}}, sum};
        end else begin : g_same
            assign dot = sum;
        end
    end else begin : g_trunc
        /* verilator lint_off UNUSEDSIGNAL */
        wire [SUM_BITS-1:0] sum_all = sum;
        /* verilator lint_on UNUSEDSIGNAL */
        assign dot = sum_all[OUT_W-1:0];
    end
endgenerate

endmodule

`default_nettype wire
