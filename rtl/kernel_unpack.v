/*
 * kernel_unpack: bus words of a densely packed buffer -> stream words.
 *
 * The buffer is the bit-by-bit concatenation of WORD_BITS-bit words (word 0 in the least
 * significant bits of bus word 0), padded with zero bits to a whole bus word
 * (docs/conventions.md, "Memory buffers of the kernel"). A `start` pulse clears the gearbox
 * and loads the number of words to emit; exactly `words` words leave on m_axis, the padding
 * bits of the last bus word are dropped. Any WORD_BITS, narrower or wider than the bus.
 * One stream word per cycle when WORD_BITS <= BUS_BITS, one bus word per cycle otherwise.
 */

`timescale 1ns / 1ps
`default_nettype none

module kernel_unpack #
(
    // bus word width (bits)
    parameter BUS_BITS = 128,
    // stream word width (bits)
    parameter WORD_BITS = 24,
    // width of the word count
    parameter COUNT_BITS = 48
)
(
    input  wire                   clk,
    input  wire                   rst,

    input  wire                   start,
    input  wire [COUNT_BITS-1:0]  words,

    // bus words in
    input  wire [BUS_BITS-1:0]    s_axis_tdata,
    input  wire                   s_axis_tvalid,
    output wire                   s_axis_tready,

    // stream words out
    output wire [WORD_BITS-1:0]   m_axis_tdata,
    output wire                   m_axis_tvalid,
    input  wire                   m_axis_tready
);

generate
    if (BUS_BITS < 8 || WORD_BITS < 1 || COUNT_BITS < 1) begin : g_bad_width
        kernel_unpack_parameters_BUS_BITS_at_least_8_WORD_BITS_and_COUNT_BITS_at_least_1 invalid_parameter ();
    end
endgenerate

reg  [COUNT_BITS-1:0] left;
wire                  dwc_valid;
wire                  more = left != 0;

assign m_axis_tvalid = dwc_valid && more;

always @(posedge clk) begin
    if (m_axis_tvalid && m_axis_tready) left <= left - 1'b1;
    if (start) left <= words;
    if (rst) left <= {COUNT_BITS{1'b0}};
end

// the buffer's last bus word may hold fewer bits than the least common multiple of the
// widths asks for: no chain through it (the converter emits a word as soon as its bits are in)
axis_dwc #(
    .IN_WIDTH(BUS_BITS),
    .OUT_WIDTH(WORD_BITS),
    .CHAIN_MAX(0)
) dwc_inst (
    .clk(clk),
    .rst(rst || start),
    .s_axis_tdata(s_axis_tdata),
    .s_axis_tvalid(s_axis_tvalid),
    .s_axis_tready(s_axis_tready),
    .m_axis_tdata(m_axis_tdata),
    .m_axis_tvalid(dwc_valid),
    .m_axis_tready(m_axis_tready && more)
);

endmodule

`default_nettype wire
