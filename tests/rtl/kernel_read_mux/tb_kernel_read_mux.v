// Test wrapper of kernel_read_mux: adds the AXI ID signals cocotbext-axi requires (ARID
// constant 0, RID ignored), nothing else.
`timescale 1ns / 1ps
`default_nettype none

module tb_kernel_read_mux #
(
    parameter N = 3,
    parameter DATA_BITS = 64,
    parameter ORDER_DEPTH = 4
)
(
    input  wire                    clk,
    input  wire                    rst,
    input  wire [N*64-1:0]         s_araddr,
    input  wire [N*8-1:0]          s_arlen,
    input  wire [N-1:0]            s_arvalid,
    output wire [N-1:0]            s_arready,
    output wire [DATA_BITS-1:0]    s_rdata,
    output wire [1:0]              s_rresp,
    output wire                    s_rlast,
    output wire [N-1:0]            s_rvalid,
    input  wire [N-1:0]            s_rready,
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
    input  wire [DATA_BITS-1:0]    m_axi_rdata,
    input  wire [1:0]              m_axi_rresp,
    input  wire                    m_axi_rlast,
    input  wire                    m_axi_rvalid,
    output wire                    m_axi_rready
);

assign m_axi_arid = 1'b0;

kernel_read_mux #(
    .N(N),
    .ADDR_BITS(64),
    .DATA_BITS(DATA_BITS),
    .ORDER_DEPTH(ORDER_DEPTH)
) dut (
    .clk(clk), .rst(rst), .s_araddr(s_araddr), .s_arlen(s_arlen),
    .s_arsize($clog2(DATA_BITS / 8)), .s_arburst(2'b01), .s_arlock(1'b0), .s_arcache(4'b0011),
    .s_arprot(3'b000), .s_arqos(4'b0000), .s_arvalid(s_arvalid), .s_arready(s_arready),
    .s_rdata(s_rdata), .s_rresp(s_rresp), .s_rlast(s_rlast), .s_rvalid(s_rvalid),
    .s_rready(s_rready), .m_axi_araddr(m_axi_araddr), .m_axi_arlen(m_axi_arlen),
    .m_axi_arsize(m_axi_arsize), .m_axi_arburst(m_axi_arburst), .m_axi_arlock(m_axi_arlock),
    .m_axi_arcache(m_axi_arcache), .m_axi_arprot(m_axi_arprot), .m_axi_arqos(m_axi_arqos),
    .m_axi_arvalid(m_axi_arvalid), .m_axi_arready(m_axi_arready), .m_axi_rdata(m_axi_rdata),
    .m_axi_rresp(m_axi_rresp), .m_axi_rlast(m_axi_rlast), .m_axi_rvalid(m_axi_rvalid),
    .m_axi_rready(m_axi_rready)
);

endmodule

`default_nettype wire
