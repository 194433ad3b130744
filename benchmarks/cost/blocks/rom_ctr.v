/*
 * rom_ctr: a soft-logic ROM as the layers use it, for the cost model's sub-block
 * characterisation (benchmarks/cost/blocks.py): rtl/rom_sync.v addressed by a wrapping
 * counter that advances with the read enable, as the fold counters of rtl/mvau.v and
 * rtl/thresholding.v address their weight and threshold memories. Yosys maps such a ROM
 * quite differently from one whose address is a port (about three times the LUTs at 64
 * words), so the counter is part of the block.
 */

`timescale 1ns / 1ps
`default_nettype none

module rom_ctr #
(
    parameter WIDTH = 32,
    parameter DEPTH = 64,
    parameter INIT_FILE = "rom.mem"
)
(
    input  wire             clk,
    input  wire             rst,
    input  wire             en,
    output wire [WIDTH-1:0] data
);

localparam AW = DEPTH > 1 ? $clog2(DEPTH) : 1;
/* verilator lint_off WIDTHTRUNC */
localparam [AW-1:0] LAST = DEPTH - 1;
/* verilator lint_on WIDTHTRUNC */

reg [AW-1:0] addr;

always @(posedge clk) begin
    if (en) begin
        addr <= (addr == LAST) ? {AW{1'b0}} : addr + 1'b1;
    end
    if (rst) begin
        addr <= {AW{1'b0}};
    end
end

rom_sync #(
    .WIDTH(WIDTH),
    .DEPTH(DEPTH),
    .INIT_FILE(INIT_FILE),
    .RAM_STYLE("distributed"),
    .AW(AW)
) rom (
    .clk(clk),
    .en(en),
    .addr(addr),
    .data(data)
);

endmodule

`default_nettype wire
