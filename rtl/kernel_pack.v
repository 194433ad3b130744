/*
 * kernel_pack: stream words -> bus words of a densely packed buffer.
 *
 * The inverse of kernel_unpack: WORD_BITS-bit words are concatenated bit by bit (word 0 in
 * the least significant bits of bus word 0) and the end is padded with zero bits to a whole
 * bus word (docs/conventions.md, "Memory buffers of the kernel"). A `start` pulse clears the
 * gearbox and loads the number of words to take and of bus words to emit, which the caller
 * sets to ceil(words * WORD_BITS / BUS_BITS); after the last word the gearbox is fed zero
 * words until the last bus word is out (the flush at the end of a batch). Any WORD_BITS,
 * narrower or wider than the bus.
 */

`timescale 1ns / 1ps
`default_nettype none

module kernel_pack #
(
    // stream word width (bits)
    parameter WORD_BITS = 24,
    // bus word width (bits)
    parameter BUS_BITS = 128,
    // width of the word and beat counts
    parameter COUNT_BITS = 48
)
(
    input  wire                   clk,
    input  wire                   rst,

    input  wire                   start,
    input  wire [COUNT_BITS-1:0]  words,
    input  wire [COUNT_BITS-1:0]  beats,

    // stream words in
    input  wire [WORD_BITS-1:0]   s_axis_tdata,
    input  wire                   s_axis_tvalid,
    output wire                   s_axis_tready,

    // bus words out
    output wire [BUS_BITS-1:0]    m_axis_tdata,
    output wire                   m_axis_tvalid,
    input  wire                   m_axis_tready
);

generate
    if (BUS_BITS < 8 || WORD_BITS < 1 || COUNT_BITS < 1) begin : g_bad_width
        kernel_pack_parameters_BUS_BITS_at_least_8_WORD_BITS_and_COUNT_BITS_at_least_1 invalid_parameter ();
    end
endgenerate

reg  [COUNT_BITS-1:0] in_left, out_left;
wire                  in_more = in_left != 0;
wire                  out_more = out_left != 0;
wire                  dwc_ready, dwc_valid;
// real words first, then zero words (flush) while bus words are still owed
wire [WORD_BITS-1:0]  dwc_data  = in_more ? s_axis_tdata : {WORD_BITS{1'b0}};
wire                  dwc_in_valid = in_more ? s_axis_tvalid : out_more;

assign s_axis_tready = dwc_ready && in_more;
assign m_axis_tvalid = dwc_valid && out_more;

always @(posedge clk) begin
    if (s_axis_tvalid && s_axis_tready) in_left <= in_left - 1'b1;
    if (m_axis_tvalid && m_axis_tready) out_left <= out_left - 1'b1;
    if (start) begin
        in_left  <= words;
        out_left <= beats;
    end
    if (rst) begin
        in_left  <= {COUNT_BITS{1'b0}};
        out_left <= {COUNT_BITS{1'b0}};
    end
end

axis_dwc #(
    .IN_WIDTH(WORD_BITS),
    .OUT_WIDTH(BUS_BITS)
) dwc_inst (
    .clk(clk),
    .rst(rst || start),
    .s_axis_tdata(dwc_data),
    .s_axis_tvalid(dwc_in_valid),
    .s_axis_tready(dwc_ready),
    .m_axis_tdata(m_axis_tdata),
    .m_axis_tvalid(dwc_valid),
    .m_axis_tready(m_axis_tready && out_more)
);

endmodule

`default_nettype wire
