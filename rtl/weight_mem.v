/*
 * weight_mem: the weight memory of an MVAU or VVAU, read one line per step in address order.
 *
 * The unit's steps read lines 0, 1, ..., DEPTH-1, 0, ... (an internal address counter, cleared
 * by rst, advances on every step that issues: step && ok). data is the line of the step that
 * issued in the previous enabled cycle, registered (one cycle of latency, clock-enabled by en,
 * like rom_sync); for every style the unit sees the same data on the same cycles.
 *
 * RAM_STYLE selects where the lines live:
 *   "auto", "block", "distributed": a ROM (rom_sync) initialised from INIT_FILE with
 *       $readmemh (DEPTH lines of WIDTH bits); s_wgt is unused (s_wgt_tready = 0).
 *   "ultra": a RAM in UltraRAM (UltraScale+ URAM288 has no bitstream initialisation), written
 *       from s_wgt: every s_wgt word is accepted (s_wgt_tready = 1) and written to the next
 *       line, 0..DEPTH-1 and then 0 again (a load counter cleared by rst, independent of the
 *       read address). The kernel loads all lines once before the first run (docs/kernel.md
 *       "Weights in UltraRAM"); do not load while steps issue. Read like the ROM.
 *   "external": no memory; the lines stream in on s_wgt in read order, one per step. A step
 *       issues only when its line is there (ok = s_wgt_tvalid); the line is taken when the
 *       step issues (s_wgt_tready = step, independent of s_wgt_tvalid) and registered as data.
 *
 * CONST = 1 (a ROM style with DEPTH = 1: a fully unrolled layer): no memory; data is the line
 * CONST_LINE itself, a constant the elaboration sees. Synthesis folds the weights into the
 * products as word-level constants, before it merges adders into multi-operand sums, so the
 * products and adders of PEs with equal weights on equal lanes are one piece of logic: half
 * the LUTs of the same weights read from a one-line ROM (docs/cost_model.md). The line is the
 * same on every cycle, so the unit sees the same data as from the ROM.
 *
 * Contract with the unit: step is high in a cycle where the unit would issue a step if its
 * weight line is available (it must include en: a step never issues while the pipeline is
 * stalled); the step issues in that cycle iff step && ok. ok does not depend on step (no
 * combinational loop through the unit).
 */

`timescale 1ns / 1ps
`default_nettype none

module weight_mem #
(
    // width of a weight line (bits): PE*SIMD*W_BITS for an MVAU, PE*W_BITS for a VVAU
    parameter WIDTH = 8,
    // number of lines: NF*SF for an MVAU, K*CF for a VVAU
    parameter DEPTH = 16,
    // $readmemh file of the lines (ROM styles only)
    parameter INIT_FILE = "weights.mem",
    // "auto", "block" or "distributed" (ROM), "ultra" (URAM loaded from s_wgt) or "external"
    // (lines streamed on s_wgt, no memory)
    parameter RAM_STYLE = "auto",
    // 1: the weights are the constant line CONST_LINE (DEPTH = 1, a ROM style; INIT_FILE
    // unused)
    parameter CONST = 0,
    parameter [WIDTH-1:0] CONST_LINE = {WIDTH{1'b0}},
    // address width (derived, do not override)
    parameter AW = DEPTH > 1 ? $clog2(DEPTH) : 1
)
(
    input  wire             clk,
    input  wire             rst,

    // pipeline clock enable: data loads when high (unused by "external", where step has it)
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire             en,
    /* verilator lint_on UNUSEDSIGNAL */
    // a step would issue now if its line is available (includes en)
    input  wire             step,
    // the line of the step is available (1 except for "external")
    output wire             ok,
    // line of the last issued step, registered
    output wire [WIDTH-1:0] data,

    // weight stream ("ultra": the load; "external": one line per step)
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [WIDTH-1:0] s_wgt_tdata,
    input  wire             s_wgt_tvalid,
    /* verilator lint_on UNUSEDSIGNAL */
    output wire             s_wgt_tready
);

/* verilator lint_off WIDTHEXPAND */
localparam EXT_W = RAM_STYLE == "external";
localparam ULTRA_W = RAM_STYLE == "ultra";
/* verilator lint_on WIDTHEXPAND */

/* verilator lint_off WIDTHTRUNC */
localparam [AW-1:0] A_LAST = DEPTH - 1;
/* verilator lint_on WIDTHTRUNC */

generate
    if (DEPTH < 1 || WIDTH < 1) begin : g_bad_size
        weight_mem_parameters_DEPTH_and_WIDTH_must_be_at_least_1 invalid_parameter ();
    end
    if (CONST != 0 && (DEPTH != 1 || EXT_W || ULTRA_W)) begin : g_bad_const
        weight_mem_parameter_CONST_needs_DEPTH_1_and_a_ROM_style invalid_parameter ();
    end
endgenerate

// read address: the line of the step being issued (unused with external weights)
/* verilator lint_off UNUSEDSIGNAL */
reg [AW-1:0] addr_reg;
/* verilator lint_on UNUSEDSIGNAL */

always @(posedge clk) begin
    if (step && ok) begin
        addr_reg <= (addr_reg == A_LAST) ? {AW{1'b0}} : addr_reg + 1'b1;
    end
    if (rst) begin
        addr_reg <= {AW{1'b0}};
    end
end

generate
    if (EXT_W) begin : g_stream
        // external weights: the step's line is taken from s_wgt when the step issues
        reg [WIDTH-1:0] data_reg;
        always @(posedge clk) begin
            if (step && s_wgt_tvalid) data_reg <= s_wgt_tdata;
        end
        assign data = data_reg;
        assign ok = s_wgt_tvalid;
        assign s_wgt_tready = step;
    end else if (ULTRA_W) begin : g_uram
        // UltraRAM weights: written line after line from s_wgt (the load), read like the ROM
        (* ram_style = "ultra" *) reg [WIDTH-1:0] mem [0:DEPTH-1];
        reg [WIDTH-1:0] data_reg;
        reg [AW-1:0]    ld_addr;
        always @(posedge clk) begin
            if (s_wgt_tvalid) mem[ld_addr] <= s_wgt_tdata;
            if (en) data_reg <= mem[addr_reg];
        end
        always @(posedge clk) begin
            if (s_wgt_tvalid) ld_addr <= (ld_addr == A_LAST) ? {AW{1'b0}} : ld_addr + 1'b1;
            if (rst) ld_addr <= {AW{1'b0}};
        end
        assign data = data_reg;
        assign ok = 1'b1;
        assign s_wgt_tready = 1'b1;
    end else if (CONST != 0) begin : g_const
        assign data = CONST_LINE;
        assign ok = 1'b1;
        assign s_wgt_tready = 1'b0;
    end else begin : g_rom
        rom_sync #(
            .WIDTH(WIDTH),
            .DEPTH(DEPTH),
            .INIT_FILE(INIT_FILE),
            .RAM_STYLE(RAM_STYLE),
            .AW(AW)
        ) rom (
            .clk(clk),
            .en(en),
            .addr(addr_reg),
            .data(data)
        );
        assign ok = 1'b1;
        assign s_wgt_tready = 1'b0;
    end
endgenerate

endmodule

`default_nettype wire
