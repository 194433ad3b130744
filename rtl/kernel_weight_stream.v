/*
 * kernel_weight_stream: the weight stream of one layer with external weights, read from DDR.
 *
 * The layer consumes WORDS weight words of WORD_BITS bits per input vector (its weight memory
 * lines in read order) and REPEATS input vectors per frame, so a run of n frames needs
 * n * REPEATS * WORDS words. The layer's region of the weight buffer (at `addr` + OFFSET bytes,
 * OFFSET a multiple of BUS_BITS / 8) holds COPIES back-to-back copies of its WORDS words, packed
 * densely like the kernel's other buffers (word 0 in the least significant bits of bus word
 * 0), COPIES chosen so that they fill RING_BEATS = COPIES * WORDS * WORD_BITS / BUS_BITS bus
 * words exactly. kernel_axi_read reads that region as a ring (WRAP_BEATS = RING_BEATS) for
 * ceil(n * REPEATS * WORDS * WORD_BITS / BUS_BITS) beats in all, so the bits it delivers are
 * the layer's words repeated without a gap, and kernel_unpack cuts exactly n * REPEATS * WORDS
 * words from them. The read FIFO (FIFO_DEPTH bus words, reserved before each burst is
 * requested) and MAX_OUTSTANDING bursts in flight hide the memory latency.
 *
 * `start` (a pulse, while idle) begins a run of `frames` frames; `idle` is high when every
 * beat of the run has arrived, `drained` when every word of the run has also left on m_axis
 * (both high after reset); `error` as in kernel_axi_read. Loading UltraRAM weights is a run of
 * one frame with REPEATS = 1.
 */

`timescale 1ns / 1ps
`default_nettype none

module kernel_weight_stream #
(
    // AXI4 data width (bits)
    parameter BUS_BITS = 128,
    // AXI address width (bits)
    parameter ADDR_BITS = 64,
    // bits of a weight word (the layer's weight memory width)
    parameter WORD_BITS = 8,
    // weight words per input vector (the layer's weight memory depth)
    parameter WORDS = 16,
    // input vectors per frame (the weights are read once per vector)
    parameter REPEATS = 1,
    // bus words of the layer's region (COPIES * WORDS * WORD_BITS / BUS_BITS, exact)
    parameter RING_BEATS = 1,
    // byte offset of the layer's region in the weight buffer (multiple of BUS_BITS / 8)
    parameter OFFSET = 0,
    // AXI bursts: beats at most, read FIFO words, bursts in flight
    parameter BURST_BEATS = 64,
    parameter FIFO_DEPTH = 256,
    parameter MAX_OUTSTANDING = 4,
    // width of the word and beat counts
    parameter COUNT_BITS = 48
)
(
    input  wire                    clk,
    input  wire                    rst,

    input  wire                    start,
    input  wire [ADDR_BITS-1:0]    addr,      // the weight buffer
    input  wire [31:0]             frames,
    output wire                    idle,
    output wire                    drained,
    output wire                    error,

    // AXI4 read address and data channels
    output wire [ADDR_BITS-1:0]    m_axi_araddr,
    output wire [7:0]              m_axi_arlen,
    output wire [2:0]              m_axi_arsize,
    output wire [1:0]              m_axi_arburst,
    output wire                    m_axi_arlock,
    output wire [3:0]              m_axi_arcache,
    output wire [2:0]              m_axi_arprot,
    output wire [3:0]              m_axi_arqos,
    output wire                    m_axi_arvalid,
    input  wire                    m_axi_arready,
    input  wire [BUS_BITS-1:0]     m_axi_rdata,
    input  wire [1:0]              m_axi_rresp,
    input  wire                    m_axi_rlast,
    input  wire                    m_axi_rvalid,
    output wire                    m_axi_rready,

    // weight words to the layer
    output wire [WORD_BITS-1:0]    m_axis_tdata,
    output wire                    m_axis_tvalid,
    input  wire                    m_axis_tready
);

localparam LOG_BUS = $clog2(BUS_BITS);

generate
    if (WORDS < 1 || REPEATS < 1 || RING_BEATS < 1 || OFFSET < 0 || (OFFSET % (BUS_BITS / 8)) != 0)
    begin : g_bad_params
        kernel_weight_stream_parameters_WORDS_REPEATS_RING_BEATS_at_least_1_OFFSET_bus_aligned invalid_parameter ();
    end
endgenerate

/* verilator lint_off WIDTHEXPAND */
localparam [63:0] WORD_BITS_C = WORD_BITS;
localparam [63:0] PER_FRAME_WORDS = REPEATS * WORDS;
localparam [63:0] BUS_M1 = BUS_BITS - 1;
localparam [ADDR_BITS-1:0] OFFSET_A = OFFSET;
/* verilator lint_on WIDTHEXPAND */

wire [63:0] n64 = {32'd0, frames};
/* verilator lint_off UNUSEDSIGNAL */
wire [63:0] words_total = n64 * PER_FRAME_WORDS;
wire [63:0] beats_total = (words_total * WORD_BITS_C + BUS_M1) >> LOG_BUS;
/* verilator lint_on UNUSEDSIGNAL */

// words of the run not yet out
reg [COUNT_BITS-1:0] out_left;
assign drained = out_left == {COUNT_BITS{1'b0}};
always @(posedge clk) begin
    if (m_axis_tvalid && m_axis_tready) out_left <= out_left - 1'b1;
    if (start) out_left <= words_total[COUNT_BITS-1:0];
    if (rst) out_left <= {COUNT_BITS{1'b0}};
end

wire [BUS_BITS-1:0] rd_data;
wire                rd_valid, rd_ready;

kernel_axi_read #(
    .DATA_BITS(BUS_BITS),
    .ADDR_BITS(ADDR_BITS),
    .BURST_BEATS(BURST_BEATS),
    .FIFO_DEPTH(FIFO_DEPTH),
    .MAX_OUTSTANDING(MAX_OUTSTANDING),
    .COUNT_BITS(COUNT_BITS),
    .WRAP_BEATS(RING_BEATS)
) read_inst (
    .clk(clk),
    .rst(rst),
    .start(start),
    .addr(addr + OFFSET_A),
    .beats(beats_total[COUNT_BITS-1:0]),
    .idle(idle),
    .error(error),
    .m_axi_araddr(m_axi_araddr),
    .m_axi_arlen(m_axi_arlen),
    .m_axi_arsize(m_axi_arsize),
    .m_axi_arburst(m_axi_arburst),
    .m_axi_arlock(m_axi_arlock),
    .m_axi_arcache(m_axi_arcache),
    .m_axi_arprot(m_axi_arprot),
    .m_axi_arqos(m_axi_arqos),
    .m_axi_arvalid(m_axi_arvalid),
    .m_axi_arready(m_axi_arready),
    .m_axi_rdata(m_axi_rdata),
    .m_axi_rresp(m_axi_rresp),
    .m_axi_rlast(m_axi_rlast),
    .m_axi_rvalid(m_axi_rvalid),
    .m_axi_rready(m_axi_rready),
    .m_axis_tdata(rd_data),
    .m_axis_tvalid(rd_valid),
    .m_axis_tready(rd_ready)
);

kernel_unpack #(
    .BUS_BITS(BUS_BITS),
    .WORD_BITS(WORD_BITS),
    .COUNT_BITS(COUNT_BITS)
) unpack_inst (
    .clk(clk),
    .rst(rst),
    .start(start),
    .words(words_total[COUNT_BITS-1:0]),
    .s_axis_tdata(rd_data),
    .s_axis_tvalid(rd_valid),
    .s_axis_tready(rd_ready),
    .m_axis_tdata(m_axis_tdata),
    .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready)
);

endmodule

`default_nettype wire
