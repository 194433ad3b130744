/*
 * kernel_axi_write: AXI4 write master that stores `beats` bus words from s_axis at `addr`.
 *
 * A `start` pulse (while idle) loads the address (its low log2(DATA_BITS/8) bits are ignored:
 * buffers are aligned to the bus width) and the beat count. The writes are split into INCR
 * bursts of at most BURST_BEATS beats that never cross a 4 KB boundary (the same split as
 * kernel_axi_read); up to MAX_OUTSTANDING bursts await their write response. The write data
 * of a burst follows its address (W never runs ahead of AW), full strobes, WLAST on the
 * burst's last beat. An error response (SLVERR/DECERR) sets `error` (cleared by the next
 * start) and the transfer goes on, so errors never hang. `idle` goes high again only when
 * every beat has been sent and every write response has arrived.
 */

`timescale 1ns / 1ps
`default_nettype none

module kernel_axi_write #
(
    // AXI data width (bits): a power of two, 32..1024
    parameter DATA_BITS = 128,
    // AXI address width (bits)
    parameter ADDR_BITS = 64,
    // beats per burst at most: 1..256, and BURST_BEATS * DATA_BITS / 8 <= 4096
    parameter BURST_BEATS = 64,
    // bursts awaiting their write response at most (>= 1)
    parameter MAX_OUTSTANDING = 4,
    // width of the beat count
    parameter COUNT_BITS = 40
)
(
    input  wire                    clk,
    input  wire                    rst,

    input  wire                    start,
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [ADDR_BITS-1:0]    addr,     // low log2(DATA_BITS/8) bits ignored
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [COUNT_BITS-1:0]   beats,
    output wire                    idle,
    output reg                     error,

    // data in, one bus word per beat
    input  wire [DATA_BITS-1:0]    s_axis_tdata,
    input  wire                    s_axis_tvalid,
    output wire                    s_axis_tready,

    // AXI4 write address channel
    output reg  [ADDR_BITS-1:0]    m_axi_awaddr,
    output reg  [7:0]              m_axi_awlen,
    output wire [2:0]              m_axi_awsize,
    output wire [1:0]              m_axi_awburst,
    output wire                    m_axi_awlock,
    output wire [3:0]              m_axi_awcache,
    output wire [2:0]              m_axi_awprot,
    output wire [3:0]              m_axi_awqos,
    output reg                     m_axi_awvalid,
    input  wire                    m_axi_awready,
    // AXI4 write data channel
    output wire [DATA_BITS-1:0]    m_axi_wdata,
    output wire [DATA_BITS/8-1:0]  m_axi_wstrb,
    output wire                    m_axi_wlast,
    output wire                    m_axi_wvalid,
    input  wire                    m_axi_wready,
    // AXI4 write response channel
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [1:0]              m_axi_bresp,   // bit 1 set: SLVERR or DECERR
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire                    m_axi_bvalid,
    output wire                    m_axi_bready
);

localparam BYTES = DATA_BITS / 8;
localparam SHIFT = $clog2(BYTES);
localparam OW = $clog2(MAX_OUTSTANDING + 1) + 1;
localparam [OW-1:0] ONE = 1, ZERO = 0;

generate
    if (DATA_BITS < 32 || DATA_BITS > 1024 || (1 << $clog2(DATA_BITS)) != DATA_BITS) begin : g_bad_data
        kernel_axi_write_parameter_DATA_BITS_must_be_a_power_of_two_32_to_1024 invalid_parameter ();
    end
    if (BURST_BEATS < 1 || BURST_BEATS > 256 || BURST_BEATS * (DATA_BITS / 8) > 4096) begin : g_bad_burst
        kernel_axi_write_parameter_BURST_BEATS_must_be_1_to_256_and_at_most_4KB invalid_parameter ();
    end
    if (MAX_OUTSTANDING < 1) begin : g_bad_out
        kernel_axi_write_parameter_MAX_OUTSTANDING_must_be_at_least_1 invalid_parameter ();
    end
    if (ADDR_BITS < 13 || ADDR_BITS > 64) begin : g_bad_addr
        kernel_axi_write_parameter_ADDR_BITS_must_be_13_to_64 invalid_parameter ();
    end
endgenerate

assign m_axi_awsize  = SHIFT[2:0];
assign m_axi_awburst = 2'b01;      // INCR
assign m_axi_awlock  = 1'b0;
assign m_axi_awcache = 4'b0011;
assign m_axi_awprot  = 3'b000;
assign m_axi_awqos   = 4'b0000;

// beats of the burst starting at `a` with `left` beats to go (the split rule)
function [8:0] burst_len(input [11:0] a, input [COUNT_BITS-1:0] left);
    reg [12:0] page_beats;
    reg [8:0]  cap;
    begin
        page_beats = (13'd4096 - {1'b0, a}) >> SHIFT;
        /* verilator lint_off WIDTHEXPAND */
        /* verilator lint_off WIDTHTRUNC */
        cap = (page_beats < BURST_BEATS) ? page_beats[8:0] : BURST_BEATS;
        burst_len = (left < cap) ? left[8:0] : cap;
        /* verilator lint_on WIDTHTRUNC */
        /* verilator lint_on WIDTHEXPAND */
    end
endfunction

// ---- address side ----------------------------------------------------------------------------
reg [ADDR_BITS-1:0]  aw_addr;
reg [COUNT_BITS-1:0] aw_left;
reg [OW-1:0]         outstanding;   // bursts requested, response not yet received
reg [OW-1:0]         aw_ahead;      // bursts requested, data not yet started
wire [8:0] aw_len = burst_len(aw_addr[11:0], aw_left);
/* verilator lint_off WIDTHEXPAND */
wire aw_issue = !m_axi_awvalid && aw_left != 0 && outstanding < MAX_OUTSTANDING;
/* verilator lint_on WIDTHEXPAND */

// ---- data side: recomputes the same burst lengths from its own address ---------------------
reg [11:0]           w_addr;        // low bits of the next data burst's address
reg [COUNT_BITS-1:0] w_left;        // beats whose burst has not started
reg [8:0]            w_cnt;         // beats left in the current burst
wire [8:0] w_len = burst_len(w_addr, w_left);
wire w_begin = w_cnt == 0 && w_left != 0 && aw_ahead != 0;
wire w_hs = m_axi_wvalid && m_axi_wready;
wire b_hs = m_axi_bvalid && m_axi_bready;

assign m_axi_wdata   = s_axis_tdata;
assign m_axi_wstrb   = {BYTES{1'b1}};
assign m_axi_wlast   = w_cnt == 9'd1;
assign m_axi_wvalid  = s_axis_tvalid && w_cnt != 0;
assign s_axis_tready = m_axi_wready && w_cnt != 0;
assign m_axi_bready  = 1'b1;
assign idle = aw_left == 0 && !m_axi_awvalid && w_left == 0 && w_cnt == 0 && outstanding == 0;

always @(posedge clk) begin
    if (m_axi_awvalid && m_axi_awready) m_axi_awvalid <= 1'b0;
    if (aw_issue) begin
        m_axi_awvalid <= 1'b1;
        m_axi_awaddr  <= aw_addr;
        m_axi_awlen   <= aw_len[7:0] - 8'd1;
        aw_addr       <= aw_addr + ({{(ADDR_BITS - 9){1'b0}}, aw_len} << SHIFT);
        aw_left       <= aw_left - {{(COUNT_BITS - 9){1'b0}}, aw_len};
    end
    outstanding <= outstanding + (aw_issue ? ONE : ZERO) - (b_hs ? ONE : ZERO);
    aw_ahead <= aw_ahead + (aw_issue ? ONE : ZERO) - (w_begin ? ONE : ZERO);
    if (w_begin) begin
        w_cnt  <= w_len;
        w_addr <= w_addr + ({3'd0, w_len} << SHIFT);
        w_left <= w_left - {{(COUNT_BITS - 9){1'b0}}, w_len};
    end else if (w_hs) begin
        w_cnt <= w_cnt - 9'd1;
    end
    if (b_hs && m_axi_bresp[1]) error <= 1'b1;
    if (start && idle) begin
        aw_addr <= {addr[ADDR_BITS-1:SHIFT], {SHIFT{1'b0}}};
        aw_left <= beats;
        w_addr  <= {addr[11:SHIFT], {SHIFT{1'b0}}};
        w_left  <= beats;
        error   <= 1'b0;
    end
    if (rst) begin
        m_axi_awvalid <= 1'b0;
        m_axi_awaddr  <= {ADDR_BITS{1'b0}};
        m_axi_awlen   <= 8'd0;
        aw_addr       <= {ADDR_BITS{1'b0}};
        aw_left       <= {COUNT_BITS{1'b0}};
        outstanding   <= {OW{1'b0}};
        aw_ahead      <= {OW{1'b0}};
        w_addr        <= 12'd0;
        w_left        <= {COUNT_BITS{1'b0}};
        w_cnt         <= 9'd0;
        error         <= 1'b0;
    end
end

endmodule

`default_nettype wire
