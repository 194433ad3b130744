/*
 * global_acc_pool: per-channel sum over all pixels of a frame (global average pooling
 * without the division; the scale is folded into the following layer).
 *
 * Input: frames of N_PIX pixels, each CF = CH/PE words of PE channels of IN_BITS bits
 * (NHWC, element 0 in the LSBs). After the last pixel of a frame, CF words of PE sums of
 * OUT_BITS bits leave (inputs sign- or zero-extended per IN_SIGNED; sums modulo 2^OUT_BITS,
 * exact with OUT_BITS >= IN_BITS + clog2(N_PIX)).
 *
 * This is pool.v with MODE = 1 (sum) and K = N_PIX: a frame is one window whose positions
 * are the pixels. One input word per cycle; an output word can be accepted 2 cycles after
 * the handshake of the last input word of the frame; partial sums in a CF-word memory.
 */

`timescale 1ns / 1ps
`default_nettype none

module global_acc_pool #
(
    // pixels per frame (H*W), >= 1
    parameter N_PIX = 16,
    // channels
    parameter CH = 4,
    // channels per word (divides CH)
    parameter PE = 2,
    // bits of an input element
    parameter IN_BITS = 4,
    // 1: input elements are two's complement, 0: unsigned
    parameter IN_SIGNED = 0,
    // bits of an output sum (>= IN_BITS)
    parameter OUT_BITS = 8
)
(
    input  wire                     clk,
    input  wire                     rst,

    // input stream: PE elements of IN_BITS bits
    input  wire [PE*IN_BITS-1:0]    s_axis_tdata,
    input  wire                     s_axis_tvalid,
    output wire                     s_axis_tready,

    // output stream: PE sums of OUT_BITS bits
    output wire [PE*OUT_BITS-1:0]   m_axis_tdata,
    output wire                     m_axis_tvalid,
    input  wire                     m_axis_tready
);

// reject illegal parameters at elaboration (the missing module name is the message);
// pool checks PE, IN_BITS and OUT_BITS
generate
    if (N_PIX < 1) begin : g_bad_n
        global_acc_pool_parameter_N_PIX_must_be_at_least_1 invalid_parameter ();
    end
endgenerate

pool #(
    .CH(CH),
    .PE(PE),
    .K(N_PIX),
    .IN_BITS(IN_BITS),
    .IN_SIGNED(IN_SIGNED),
    .OUT_BITS(OUT_BITS),
    .MODE(1)
) sum_pool (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata(s_axis_tdata),
    .s_axis_tvalid(s_axis_tvalid),
    .s_axis_tready(s_axis_tready),
    .m_axis_tdata(m_axis_tdata),
    .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready)
);

endmodule

`default_nettype wire
