/*
 * mt_count: combinational multi-threshold activation of one value.
 *
 * out = OUT_BIAS + #{k : value >= T_k} over N_THRES thresholds (T_k at
 * [k*T_BITS +: T_BITS], two's complement), encoded in OUT_BITS bits (two's complement or
 * unsigned: the low OUT_BITS bits of the sum). value is V_BITS bits, two's complement when
 * V_SIGNED = 1, unsigned otherwise; the comparison is exact (both sides are extended to a
 * common signed width). The N_THRES comparator bits are counted with an adder tree.
 */

`timescale 1ns / 1ps
`default_nettype none

module mt_count #
(
    // width of the value (bits)
    parameter V_BITS = 8,
    // 1: value is two's complement, 0: unsigned
    parameter V_SIGNED = 1,
    // width of a threshold (bits, two's complement)
    parameter T_BITS = 8,
    // number of thresholds (>= 1), ascending
    parameter N_THRES = 3,
    // width of the output (bits, 1..32)
    parameter OUT_BITS = 2,
    // integer added to the count
    parameter OUT_BIAS = 0
)
(
    input  wire [V_BITS-1:0]         value,
    input  wire [N_THRES*T_BITS-1:0] thresholds,
    output wire [OUT_BITS-1:0]       out
);

localparam VX = V_BITS + (V_SIGNED != 0 ? 0 : 1);
localparam CMP_W = VX > T_BITS ? VX : T_BITS;
localparam CNT_W = 1 + $clog2(N_THRES);

generate
    if (N_THRES < 1) begin : g_bad_n
        mt_count_parameter_N_THRES_must_be_at_least_1 invalid_parameter ();
    end
    if (OUT_BITS < 1 || OUT_BITS > 32) begin : g_bad_out
        mt_count_parameter_OUT_BITS_must_be_1_to_32 invalid_parameter ();
    end
endgenerate

// value extended to CMP_W bits (sign- or zero-extension)
wire [CMP_W-1:0] v_ext;
generate
    if (CMP_W > V_BITS) begin : g_v_ext
        wire v_msb = (V_SIGNED != 0) ? value[V_BITS-1] : 1'b0;
        assign v_ext = {{(CMP_W-V_BITS){v_msb}}, value};
    end else begin : g_v_same
        assign v_ext = value;
    end
endgenerate

wire [N_THRES-1:0] ge;
genvar k;
generate
    for (k = 0; k < N_THRES; k = k + 1) begin : cmp
        wire [T_BITS-1:0] t = thresholds[k*T_BITS +: T_BITS];
        wire [CMP_W-1:0]  t_ext;
        if (CMP_W > T_BITS) begin : g_ext
            assign t_ext = {{(CMP_W-T_BITS){t[T_BITS-1]}}, t};
        end else begin : g_same
            assign t_ext = t;
        end
        assign ge[k] = $signed(v_ext) >= $signed(t_ext);
    end
endgenerate

wire [CNT_W-1:0] count;
adder_tree #(.N(N_THRES), .IN_W(1), .SIGNED(0), .OUT_W(CNT_W)) count_tree (
    .operands(ge),
    .sum(count)
);

/* verilator lint_off WIDTHTRUNC */
localparam [31:0] BIAS = OUT_BIAS;
/* verilator lint_on WIDTHTRUNC */
/* verilator lint_off UNUSEDSIGNAL */
wire [31:0] total = BIAS + {{(32-CNT_W){1'b0}}, count};
/* verilator lint_on UNUSEDSIGNAL */
assign out = total[OUT_BITS-1:0];

endmodule

`default_nettype wire
