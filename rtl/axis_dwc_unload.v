/*
 * axis_dwc_unload: AXI-Stream data-width converter from IN_WIDTH to OUT_WIDTH bits, IN_WIDTH
 * an integer multiple K >= 2 of OUT_WIDTH (a part of axis_dwc, which chooses it).
 *
 * A holding register takes the input word; the unload register takes the held word when it
 * is empty or its last output word leaves, and the output is its word `idx` (word 0 = the
 * bottom OUT_WIDTH bits). Both registers load whole words through their clock enables: the
 * LUTs are the output's K:1 mux of OUT-bit words (a LUT6 per output bit up to K = 4; Yosys
 * maps a 64:1 one in 27 per bit) and a log2(K)-bit counter. One output word per cycle when
 * not stalled; registered s_axis_tready and m_axis_tvalid; latency 2 cycles.
 */

`timescale 1ns / 1ps
`default_nettype none

module axis_dwc_unload #
(
    // input word width (bits): K * OUT_WIDTH, K >= 2
    parameter IN_WIDTH = 16,
    // output word width (bits)
    parameter OUT_WIDTH = 8
)
(
    input  wire                  clk,
    input  wire                  rst,

    // input stream
    input  wire [IN_WIDTH-1:0]   s_axis_tdata,
    input  wire                  s_axis_tvalid,
    output wire                  s_axis_tready,

    // output stream
    output wire [OUT_WIDTH-1:0]  m_axis_tdata,
    output wire                  m_axis_tvalid,
    input  wire                  m_axis_tready
);

localparam K = IN_WIDTH / (OUT_WIDTH < 1 ? 1 : OUT_WIDTH);
// idx: the output word of the unload register (0..K-1)
localparam KW = K < 2 ? 1 : $clog2(K);
/* verilator lint_off WIDTHTRUNC */
localparam [KW-1:0] LAST = K - 1;
/* verilator lint_on WIDTHTRUNC */

// reject illegal parameters at elaboration (the missing module name is the message)
generate
    if (OUT_WIDTH < 1 || IN_WIDTH % OUT_WIDTH != 0 || K < 2) begin : g_bad_width
        axis_dwc_unload_parameters_IN_WIDTH_must_be_OUT_WIDTH_times_2_or_more invalid_parameter ();
    end
endgenerate

reg                s_ready_reg;
reg                m_valid_reg;
reg [IN_WIDTH-1:0] hold_reg;
reg [IN_WIDTH-1:0] unload_reg;
reg                hold_full;
reg [KW-1:0]       idx;

wire push = s_axis_tvalid && s_ready_reg;
wire pop  = m_valid_reg && m_axis_tready;

// the unload register is free when empty or when its last word leaves; it then takes the
// held word (the holding register may take the next input word in the same cycle)
wire done = !m_valid_reg || (m_axis_tready && idx == LAST);
wire load = done && hold_full;
wire hold_full_next = push || (hold_full && !load);

assign s_axis_tready = s_ready_reg;
assign m_axis_tvalid = m_valid_reg;
assign m_axis_tdata  = unload_reg[idx*OUT_WIDTH +: OUT_WIDTH];

always @(posedge clk) begin
    if (push) hold_reg <= s_axis_tdata;
    if (load) unload_reg <= hold_reg;
    if (load) idx <= {KW{1'b0}};
    else if (pop) idx <= idx + 1'b1;
    hold_full   <= hold_full_next;
    m_valid_reg <= load || (m_valid_reg && !done);
    s_ready_reg <= !hold_full_next;

    if (rst) begin
        idx         <= {KW{1'b0}};
        hold_full   <= 1'b0;
        m_valid_reg <= 1'b0;
        s_ready_reg <= 1'b0;
    end
end

endmodule

`default_nettype wire
