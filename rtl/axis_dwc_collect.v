/*
 * axis_dwc_collect: AXI-Stream data-width converter from IN_WIDTH to OUT_WIDTH bits,
 * OUT_WIDTH an integer multiple K >= 2 of IN_WIDTH (a part of axis_dwc, which chooses it).
 *
 * K - 1 input words shift into a collect register (word 0 ends at the bottom), and the K-th
 * input word goes with them into the output register. Both load through their clock
 * enables (no LUT per bit): the LUTs are a log2(K)-bit counter and the handshake. One input
 * word per cycle when not stalled; registered s_axis_tready and m_axis_tvalid; latency 1
 * cycle.
 */

`timescale 1ns / 1ps
`default_nettype none

module axis_dwc_collect #
(
    // input word width (bits)
    parameter IN_WIDTH = 8,
    // output word width (bits): K * IN_WIDTH, K >= 2
    parameter OUT_WIDTH = 16
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

localparam K = OUT_WIDTH / (IN_WIDTH < 1 ? 1 : IN_WIDTH);
// cnt: input words in the collect register (0..K-1)
localparam KW = K < 2 ? 1 : $clog2(K);
localparam CB = K < 2 ? IN_WIDTH : OUT_WIDTH - IN_WIDTH;
/* verilator lint_off WIDTHTRUNC */
localparam [KW-1:0] LAST = K - 1;
/* verilator lint_on WIDTHTRUNC */

// reject illegal parameters at elaboration (the missing module name is the message)
generate
    if (IN_WIDTH < 1 || OUT_WIDTH % IN_WIDTH != 0 || K < 2) begin : g_bad_width
        axis_dwc_collect_parameters_OUT_WIDTH_must_be_IN_WIDTH_times_2_or_more invalid_parameter ();
    end
endgenerate

reg                 s_ready_reg;
reg                 m_valid_reg;
reg [CB-1:0]        collect_reg;
reg [OUT_WIDTH-1:0] out_reg;
reg [KW-1:0]        cnt;

wire push = s_axis_tvalid && s_ready_reg;
wire pop  = m_valid_reg && m_axis_tready;

// the K-th word completes an output word; the output register is free then: the registered
// ready below holds that word back while the output register is full
wire          last = cnt == LAST;
wire [KW-1:0] cnt_next = push ? (last ? {KW{1'b0}} : cnt + 1'b1) : cnt;
wire          m_valid_next = (push && last) || (m_valid_reg && !pop);

// the input word enters at the top of the collect register, the others move down
wire [CB-1:0] collect_next;
generate
    if (CB > IN_WIDTH) begin : g_shift
        assign collect_next = {s_axis_tdata, collect_reg[CB-1:IN_WIDTH]};
    end else begin : g_first
        assign collect_next = s_axis_tdata;
    end
endgenerate

assign s_axis_tready = s_ready_reg;
assign m_axis_tvalid = m_valid_reg;
assign m_axis_tdata  = out_reg;

always @(posedge clk) begin
    if (push && !last) collect_reg <= collect_next;
    if (push && last) out_reg <= {s_axis_tdata, collect_reg};
    cnt         <= cnt_next;
    m_valid_reg <= m_valid_next;
    // the next word may complete an output word only if the output register is free
    s_ready_reg <= !(cnt_next == LAST && m_valid_next);

    if (rst) begin
        cnt         <= {KW{1'b0}};
        m_valid_reg <= 1'b0;
        s_ready_reg <= 1'b0;
    end
end

endmodule

`default_nettype wire
