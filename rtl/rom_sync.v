/*
 * rom_sync: read-only memory with a registered read port (block-RAM and LUTRAM inferable).
 *
 * DEPTH words of WIDTH bits, initialised from INIT_FILE with $readmemh (hex text, one word per
 * line, most significant digit first; docs/conventions.md). data is mem[addr] registered on
 * a rising edge of clk where en is high, and holds otherwise.
 */

`timescale 1ns / 1ps
`default_nettype none

module rom_sync #
(
    // width of a word (bits)
    parameter WIDTH = 8,
    // number of words
    parameter DEPTH = 16,
    // $readmemh file with DEPTH lines (relative paths are relative to the simulator's or
    // synthesis tool's working directory)
    parameter INIT_FILE = "rom.mem",
    // memory implementation: "auto", "block" or "distributed"
    parameter RAM_STYLE = "auto",
    // address width (derived, do not override)
    parameter AW = DEPTH > 1 ? $clog2(DEPTH) : 1
)
(
    input  wire             clk,
    // read enable (clock enable of the output register)
    input  wire             en,
    input  wire [AW-1:0]    addr,
    output reg  [WIDTH-1:0] data
);

/* verilator lint_off WIDTHEXPAND */
localparam STYLE = (RAM_STYLE == "auto") ? 0 : (RAM_STYLE == "block") ? 1 :
                   (RAM_STYLE == "distributed") ? 2 : -1;
/* verilator lint_on WIDTHEXPAND */

generate
    if (DEPTH < 1 || WIDTH < 1) begin : g_bad_size
        rom_sync_parameters_DEPTH_and_WIDTH_must_be_at_least_1 invalid_parameter ();
    end
    if (STYLE == 1) begin : g_block
        (* ram_style = "block", rom_style = "block" *) reg [WIDTH-1:0] mem [0:DEPTH-1];
        initial $readmemh(INIT_FILE, mem);
        always @(posedge clk) begin
            if (en) data <= mem[addr];
        end
    end else if (STYLE == 2) begin : g_distributed
        (* ram_style = "distributed", rom_style = "distributed" *) reg [WIDTH-1:0] mem [0:DEPTH-1];
        initial $readmemh(INIT_FILE, mem);
        always @(posedge clk) begin
            if (en) data <= mem[addr];
        end
    end else if (STYLE == 0) begin : g_auto
        reg [WIDTH-1:0] mem [0:DEPTH-1];
        initial $readmemh(INIT_FILE, mem);
        always @(posedge clk) begin
            if (en) data <= mem[addr];
        end
    end else begin : g_bad_style
        rom_sync_parameter_RAM_STYLE_must_be_auto_block_or_distributed invalid_parameter ();
    end
endgenerate

endmodule

`default_nettype wire
