/*
 * axis_fifo: AXI-Stream FIFO of DEPTH words of WIDTH bits.
 *
 * The words are stored in a simple dual-port memory (one write port, one registered read
 * port, inferable as LUTRAM or BRAM) followed by a registered output word, so the FIFO
 * holds up to DEPTH + 1 words in total (count reports them). DEPTH may be any value >= 2.
 * One word per cycle in and out when not stalled; latency from an accepted input word to
 * m_axis_tvalid is 2 cycles. s_axis_tready is a register (no combinational path from
 * m_axis_tready).
 */

`timescale 1ns / 1ps
`default_nettype none

module axis_fifo #
(
    // width of a word (bits)
    parameter WIDTH = 8,
    // memory words (>= 2, any value); total capacity is DEPTH + 1 with the output register
    parameter DEPTH = 16,
    // memory implementation: "auto", "block", "distributed" or "registers"
    parameter RAM_STYLE = "auto"
)
(
    input  wire                           clk,
    input  wire                           rst,

    // input stream
    input  wire [WIDTH-1:0]               s_axis_tdata,
    input  wire                           s_axis_tvalid,
    output wire                           s_axis_tready,

    // output stream
    output wire [WIDTH-1:0]               m_axis_tdata,
    output wire                           m_axis_tvalid,
    input  wire                           m_axis_tready,

    // words in the FIFO (memory + output register)
    output wire [$clog2(DEPTH+2)-1:0]     count
);

localparam AW = DEPTH > 1 ? $clog2(DEPTH) : 1;
localparam CW = $clog2(DEPTH + 2);
/* verilator lint_off WIDTHTRUNC */
localparam [AW-1:0] LAST_PTR = DEPTH - 1;
localparam [CW-1:0] DEPTH_M1 = DEPTH - 1;
/* verilator lint_on WIDTHTRUNC */
// memory style as a number (string compares of different lengths are width-extended)
/* verilator lint_off WIDTHEXPAND */
localparam STYLE = (RAM_STYLE == "auto") ? 0 : (RAM_STYLE == "block") ? 1 :
                   (RAM_STYLE == "distributed") ? 2 : (RAM_STYLE == "registers") ? 3 : -1;
/* verilator lint_on WIDTHEXPAND */

// reject illegal parameters at elaboration (the missing module name is the message)
generate
    if (DEPTH < 2) begin : g_bad_depth
        axis_fifo_parameter_DEPTH_must_be_at_least_2 invalid_parameter ();
    end
    if (WIDTH < 1) begin : g_bad_width
        axis_fifo_parameter_WIDTH_must_be_at_least_1 invalid_parameter ();
    end
endgenerate

reg [AW-1:0] wr_ptr_reg;
reg [AW-1:0] rd_ptr_reg;
// words in the memory (not counting the output register)
reg [CW-1:0] mem_count_reg;
reg          full_reg;

reg [WIDTH-1:0] out_data_reg;
reg             out_valid_reg;

wire wr_en = s_axis_tvalid && !full_reg;
// load the output register when it is empty or being emptied and the memory has a word
wire rd_en = (mem_count_reg != {CW{1'b0}}) && (!out_valid_reg || m_axis_tready);

assign s_axis_tready = !full_reg;
assign m_axis_tdata  = out_data_reg;
assign m_axis_tvalid = out_valid_reg;
assign count         = mem_count_reg + {{(CW-1){1'b0}}, out_valid_reg};

// A pointer never passes LAST_PTR, so it is at LAST_PTR exactly when it has every one bit
// of LAST_PTR set: the wrap test is an AND of popcount(LAST_PTR) bits, not a full compare.
function [AW-1:0] next_ptr(input [AW-1:0] p);
    begin
        next_ptr = ((p & LAST_PTR) == LAST_PTR) ? {AW{1'b0}} : p + 1'b1;
    end
endfunction

// storage: separate always blocks for the memory so that tools infer RAM
generate
    if (STYLE == 1) begin : g_block
        (* ram_style = "block" *) reg [WIDTH-1:0] mem [0:DEPTH-1];
        always @(posedge clk) begin
            if (wr_en) mem[wr_ptr_reg] <= s_axis_tdata;
            if (rd_en) out_data_reg <= mem[rd_ptr_reg];
        end
    end else if (STYLE == 2) begin : g_distributed
        (* ram_style = "distributed" *) reg [WIDTH-1:0] mem [0:DEPTH-1];
        always @(posedge clk) begin
            if (wr_en) mem[wr_ptr_reg] <= s_axis_tdata;
            if (rd_en) out_data_reg <= mem[rd_ptr_reg];
        end
    end else if (STYLE == 3) begin : g_registers
        (* ram_style = "registers" *) reg [WIDTH-1:0] mem [0:DEPTH-1];
        always @(posedge clk) begin
            if (wr_en) mem[wr_ptr_reg] <= s_axis_tdata;
            if (rd_en) out_data_reg <= mem[rd_ptr_reg];
        end
    end else if (STYLE == 0) begin : g_auto
        reg [WIDTH-1:0] mem [0:DEPTH-1];
        always @(posedge clk) begin
            if (wr_en) mem[wr_ptr_reg] <= s_axis_tdata;
            if (rd_en) out_data_reg <= mem[rd_ptr_reg];
        end
    end else begin : g_bad_style
        axis_fifo_parameter_RAM_STYLE_must_be_auto_block_distributed_or_registers invalid_parameter ();
    end
endgenerate

always @(posedge clk) begin
    if (wr_en) wr_ptr_reg <= next_ptr(wr_ptr_reg);
    if (rd_en) rd_ptr_reg <= next_ptr(rd_ptr_reg);
    if (wr_en && !rd_en) begin
        mem_count_reg <= mem_count_reg + 1'b1;
        // not full before this write, so the count is at most DEPTH - 1: the same AND test
        full_reg <= ((mem_count_reg & DEPTH_M1) == DEPTH_M1);
    end else if (rd_en && !wr_en) begin
        mem_count_reg <= mem_count_reg - 1'b1;
        full_reg <= 1'b0;
    end
    if (rd_en) begin
        out_valid_reg <= 1'b1;
    end else if (m_axis_tready) begin
        out_valid_reg <= 1'b0;
    end

    if (rst) begin
        wr_ptr_reg <= {AW{1'b0}};
        rd_ptr_reg <= {AW{1'b0}};
        mem_count_reg <= {CW{1'b0}};
        full_reg <= 1'b0;
        out_valid_reg <= 1'b0;
    end
end

endmodule

`default_nettype wire
