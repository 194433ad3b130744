// Test wrapper of kernel_weight_stream: adds the AXI ID signals cocotbext-axi requires
// (ARID constant 0, RID ignored), nothing else.
`timescale 1ns / 1ps
`default_nettype none

module tb_kernel_weight_stream #
(
    parameter BUS_BITS = 128,
    parameter WORD_BITS = 8,
    parameter WORDS = 16,
    parameter REPEATS = 1,
    parameter RING_BEATS = 1,
    parameter OFFSET = 0,
    parameter BURST_BEATS = 64,
    parameter FIFO_DEPTH = 256,
    parameter MAX_OUTSTANDING = 4
)
(
    input  wire                    clk,
    input  wire                    rst,
    input  wire                    start,
    input  wire [63:0]             addr,
    input  wire [31:0]             frames,
    output wire                    idle,
    output wire                    error,
    output wire [0:0]              m_axi_arid,
    output wire [63:0]             m_axi_araddr,
    output wire [7:0]              m_axi_arlen,
    output wire [2:0]              m_axi_arsize,
    output wire [1:0]              m_axi_arburst,
    output wire                    m_axi_arlock,
    output wire [3:0]              m_axi_arcache,
    output wire [2:0]              m_axi_arprot,
    output wire [3:0]              m_axi_arqos,
    output wire                    m_axi_arvalid,
    input  wire                    m_axi_arready,
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [0:0]              m_axi_rid,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [BUS_BITS-1:0]     m_axi_rdata,
    input  wire [1:0]              m_axi_rresp,
    input  wire                    m_axi_rlast,
    input  wire                    m_axi_rvalid,
    output wire                    m_axi_rready,
    output wire [WORD_BITS-1:0]    m_axis_tdata,
    output wire                    m_axis_tvalid,
    input  wire                    m_axis_tready
);

assign m_axi_arid = 1'b0;

kernel_weight_stream #(
    .BUS_BITS(BUS_BITS),
    .ADDR_BITS(64),
    .WORD_BITS(WORD_BITS),
    .WORDS(WORDS),
    .REPEATS(REPEATS),
    .RING_BEATS(RING_BEATS),
    .OFFSET(OFFSET),
    .BURST_BEATS(BURST_BEATS),
    .FIFO_DEPTH(FIFO_DEPTH),
    .MAX_OUTSTANDING(MAX_OUTSTANDING)
) dut (
    .clk(clk), .rst(rst), .start(start), .addr(addr), .frames(frames), .idle(idle),
    .error(error), .m_axi_araddr(m_axi_araddr), .m_axi_arlen(m_axi_arlen),
    .m_axi_arsize(m_axi_arsize), .m_axi_arburst(m_axi_arburst), .m_axi_arlock(m_axi_arlock),
    .m_axi_arcache(m_axi_arcache), .m_axi_arprot(m_axi_arprot), .m_axi_arqos(m_axi_arqos),
    .m_axi_arvalid(m_axi_arvalid), .m_axi_arready(m_axi_arready), .m_axi_rdata(m_axi_rdata),
    .m_axi_rresp(m_axi_rresp), .m_axi_rlast(m_axi_rlast), .m_axi_rvalid(m_axi_rvalid),
    .m_axi_rready(m_axi_rready), .m_axis_tdata(m_axis_tdata), .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready)
);

endmodule

`default_nettype wire
