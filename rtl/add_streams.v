/*
 * add_streams: elementwise sum of two streams (join of a residual block).
 *
 * Both inputs carry PE elements of IN_BITS bits per word (element 0 in the LSBs), signed or
 * unsigned per IN_SIGNED. Output words carry the PE sums in OUT_BITS bits: both operands are
 * sign- (IN_SIGNED = 1) or zero-extended to OUT_BITS bits and added modulo 2^OUT_BITS
 * (exact with OUT_BITS >= IN_BITS + 1).
 *
 * A word is taken from both inputs in the same cycle, only when both are valid and the output
 * register slice can take the sum: s0_axis_tready = en & s1_axis_tvalid and vice versa (no
 * input's ready depends on its own valid; en is the skid buffer's registered ready). An input
 * that is early waits. One word per cycle when both inputs are valid and the output ready;
 * latency 1 cycle. See duplicate_stream / docs/rtl_cnn.md for the FIFO a fork-join needs.
 */

`timescale 1ns / 1ps
`default_nettype none

module add_streams #
(
    // elements per word
    parameter PE = 2,
    // bits of an input element (both inputs)
    parameter IN_BITS = 4,
    // 1: input elements are two's complement, 0: unsigned
    parameter IN_SIGNED = 1,
    // bits of an output element (>= IN_BITS)
    parameter OUT_BITS = 5
)
(
    input  wire                     clk,
    input  wire                     rst,

    // first input stream: PE elements of IN_BITS bits
    input  wire [PE*IN_BITS-1:0]    s0_axis_tdata,
    input  wire                     s0_axis_tvalid,
    output wire                     s0_axis_tready,

    // second input stream: PE elements of IN_BITS bits
    input  wire [PE*IN_BITS-1:0]    s1_axis_tdata,
    input  wire                     s1_axis_tvalid,
    output wire                     s1_axis_tready,

    // output stream: PE sums of OUT_BITS bits
    output wire [PE*OUT_BITS-1:0]   m_axis_tdata,
    output wire                     m_axis_tvalid,
    input  wire                     m_axis_tready
);

// reject illegal parameters at elaboration (the missing module name is the message)
generate
    if (PE < 1) begin : g_bad_pe
        add_streams_parameter_PE_must_be_at_least_1 invalid_parameter ();
    end
    if (IN_BITS < 1 || OUT_BITS < IN_BITS) begin : g_bad_bits
        add_streams_parameters_IN_BITS_at_least_1_and_OUT_BITS_at_least_IN_BITS invalid_parameter ();
    end
endgenerate

// clock enable: the output skid buffer can take a word
wire en;

assign s0_axis_tready = en && s1_axis_tvalid;
assign s1_axis_tready = en && s0_axis_tvalid;

wire [PE*OUT_BITS-1:0] sum;

genvar p;
generate
    for (p = 0; p < PE; p = p + 1) begin : pe
        wire [IN_BITS-1:0]  a = s0_axis_tdata[p*IN_BITS +: IN_BITS];
        wire [IN_BITS-1:0]  b = s1_axis_tdata[p*IN_BITS +: IN_BITS];
        wire [OUT_BITS-1:0] ae;
        wire [OUT_BITS-1:0] be;
        if (OUT_BITS == IN_BITS) begin : g_same
            assign ae = a;
            assign be = b;
        end else begin : g_ext
            // sign bits per IN_SIGNED
            wire as = (IN_SIGNED != 0) && a[IN_BITS-1];
            wire bs = (IN_SIGNED != 0) && b[IN_BITS-1];
            assign ae = {{(OUT_BITS-IN_BITS){as}}, a};
            assign be = {{(OUT_BITS-IN_BITS){bs}}, b};
        end
        assign sum[p*OUT_BITS +: OUT_BITS] = ae + be;
    end
endgenerate

axis_skid #(.WIDTH(PE*OUT_BITS)) out_skid (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata(sum),
    .s_axis_tvalid(s0_axis_tvalid && s1_axis_tvalid),
    .s_axis_tready(en),
    .m_axis_tdata(m_axis_tdata),
    .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready)
);

endmodule

`default_nettype wire
