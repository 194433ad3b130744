/*
 * kernel_axi_read: AXI4 read master that streams `beats` bus words starting at `addr`.
 *
 * A `start` pulse (while idle) loads the address (its low log2(DATA_BITS/8) bits are ignored:
 * buffers are aligned to the bus width) and the beat count. The reads are split into INCR
 * bursts of at most BURST_BEATS beats that never cross a 4 KB boundary; up to MAX_OUTSTANDING
 * bursts are in flight. Every beat has a place reserved in a FIFO of FIFO_DEPTH words before
 * its burst is requested, so RREADY stays high (the memory is never back-pressured) and the
 * read data leaves on m_axis in address order. An error response (SLVERR/DECERR) on any beat
 * sets `error` (cleared by the next start); the data of such a beat is passed on as it came
 * and the transfer still completes, so errors never hang. `idle` is high when no transfer is
 * in progress: after reset and once every requested beat has arrived (the FIFO may still
 * hold data for m_axis).
 *
 * WRAP_BEATS > 0 (the weight streamers of external weights): the buffer at `addr` is a ring of
 * WRAP_BEATS bus words read over and over: after its last word the next burst starts at `addr`
 * again (bursts never run past the end of the ring), until `beats` beats in all are read.
 */

`timescale 1ns / 1ps
`default_nettype none

module kernel_axi_read #
(
    // AXI data width (bits): a power of two, 32..1024
    parameter DATA_BITS = 128,
    // AXI address width (bits)
    parameter ADDR_BITS = 64,
    // beats per burst at most: 1..256, and BURST_BEATS * DATA_BITS / 8 <= 4096
    parameter BURST_BEATS = 64,
    // read data FIFO (words): >= BURST_BEATS
    parameter FIFO_DEPTH = 256,
    // bursts in flight at most (>= 1)
    parameter MAX_OUTSTANDING = 4,
    // width of the beat count
    parameter COUNT_BITS = 40,
    // 0: read `beats` consecutive bus words; > 0: a ring of WRAP_BEATS words (see above)
    parameter WRAP_BEATS = 0
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

    // AXI4 read address channel
    output reg  [ADDR_BITS-1:0]    m_axi_araddr,
    output reg  [7:0]              m_axi_arlen,
    output wire [2:0]              m_axi_arsize,
    output wire [1:0]              m_axi_arburst,
    output wire                    m_axi_arlock,
    output wire [3:0]              m_axi_arcache,
    output wire [2:0]              m_axi_arprot,
    output wire [3:0]              m_axi_arqos,
    output reg                     m_axi_arvalid,
    input  wire                    m_axi_arready,
    // AXI4 read data channel
    input  wire [DATA_BITS-1:0]    m_axi_rdata,
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [1:0]              m_axi_rresp,   // bit 1 set: SLVERR or DECERR
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire                    m_axi_rlast,
    input  wire                    m_axi_rvalid,
    output wire                    m_axi_rready,

    // data out, one bus word per beat
    output wire [DATA_BITS-1:0]    m_axis_tdata,
    output wire                    m_axis_tvalid,
    input  wire                    m_axis_tready
);

localparam BYTES = DATA_BITS / 8;
localparam SHIFT = $clog2(BYTES);
localparam CRW = $clog2(FIFO_DEPTH + 1) + 1;   // credit counter
localparam OW = $clog2(MAX_OUTSTANDING + 1) + 1;

generate
    if (DATA_BITS < 32 || DATA_BITS > 1024 || (1 << $clog2(DATA_BITS)) != DATA_BITS) begin : g_bad_data
        kernel_axi_read_parameter_DATA_BITS_must_be_a_power_of_two_32_to_1024 invalid_parameter ();
    end
    if (BURST_BEATS < 1 || BURST_BEATS > 256 || BURST_BEATS * (DATA_BITS / 8) > 4096) begin : g_bad_burst
        kernel_axi_read_parameter_BURST_BEATS_must_be_1_to_256_and_at_most_4KB invalid_parameter ();
    end
    if (FIFO_DEPTH < BURST_BEATS) begin : g_bad_fifo
        kernel_axi_read_parameter_FIFO_DEPTH_must_be_at_least_BURST_BEATS invalid_parameter ();
    end
    if (MAX_OUTSTANDING < 1) begin : g_bad_out
        kernel_axi_read_parameter_MAX_OUTSTANDING_must_be_at_least_1 invalid_parameter ();
    end
    if (ADDR_BITS < 13 || ADDR_BITS > 64) begin : g_bad_addr
        kernel_axi_read_parameter_ADDR_BITS_must_be_13_to_64 invalid_parameter ();
    end
endgenerate

assign m_axi_arsize  = SHIFT[2:0];
assign m_axi_arburst = 2'b01;      // INCR
assign m_axi_arlock  = 1'b0;
assign m_axi_arcache = 4'b0011;    // normal, non-cacheable, bufferable
assign m_axi_arprot  = 3'b000;
assign m_axi_arqos   = 4'b0000;

reg [ADDR_BITS-1:0]  ar_addr;      // next burst address
reg [COUNT_BITS-1:0] ar_left;      // beats not yet requested
reg [COUNT_BITS-1:0] r_left;       // beats not yet received
reg [CRW-1:0]        credits;      // FIFO places not reserved by a request
reg [OW-1:0]         outstanding;  // bursts requested and not finished

// next burst: min(beats left, BURST_BEATS, beats up to the 4 KB boundary)
wire [12:0] page_bytes = 13'd4096 - {1'b0, ar_addr[11:0]};
wire [12:0] page_beats = page_bytes >> SHIFT;
/* verilator lint_off WIDTHEXPAND */
/* verilator lint_off WIDTHTRUNC */
wire [8:0] cap_beats = (page_beats < BURST_BEATS) ? page_beats[8:0] : BURST_BEATS;
wire [8:0] len0 = (ar_left < cap_beats) ? ar_left[8:0] : cap_beats;
// ring: not past its end (wrap_left: beats from ar_addr to the end of the ring)
reg  [COUNT_BITS-1:0] wrap_left;
reg  [ADDR_BITS-1:0]  ring_base;
wire [8:0] len = (WRAP_BEATS > 0 && wrap_left < len0) ? wrap_left[8:0] : len0;
wire wrap_now = WRAP_BEATS > 0 && len == wrap_left;
localparam [COUNT_BITS-1:0] WRAP_C = WRAP_BEATS;
wire issue = !m_axi_arvalid && ar_left != 0 && credits >= len && outstanding < MAX_OUTSTANDING;
wire [CRW-1:0] len_c = len;   // len <= BURST_BEATS <= FIFO_DEPTH fits
/* verilator lint_on WIDTHTRUNC */
/* verilator lint_on WIDTHEXPAND */
localparam [CRW-1:0] C_ONE = 1, C_ZERO = 0;
localparam [OW-1:0] O_ONE = 1, O_ZERO = 0;

wire fifo_in_ready;
wire r_hs  = m_axi_rvalid && fifo_in_ready;
wire pop   = m_axis_tvalid && m_axis_tready;

assign m_axi_rready = fifo_in_ready;
assign idle = r_left == 0 && ar_left == 0;

always @(posedge clk) begin
    if (m_axi_arvalid && m_axi_arready) m_axi_arvalid <= 1'b0;
    if (issue) begin
        m_axi_arvalid <= 1'b1;
        m_axi_araddr  <= ar_addr;
        m_axi_arlen   <= len[7:0] - 8'd1;
        ar_addr       <= wrap_now ? ring_base
                                  : ar_addr + ({{(ADDR_BITS - 9){1'b0}}, len} << SHIFT);
        wrap_left     <= wrap_now ? WRAP_C : wrap_left - {{(COUNT_BITS - 9){1'b0}}, len};
        ar_left       <= ar_left - {{(COUNT_BITS - 9){1'b0}}, len};
    end
    credits <= credits + (pop ? C_ONE : C_ZERO) - (issue ? len_c : C_ZERO);
    outstanding <= outstanding + (issue ? O_ONE : O_ZERO) - ((r_hs && m_axi_rlast) ? O_ONE : O_ZERO);
    if (r_hs) begin
        r_left <= r_left - 1'b1;
        if (m_axi_rresp[1]) error <= 1'b1;
    end
    if (start && idle) begin
        ar_addr <= {addr[ADDR_BITS-1:SHIFT], {SHIFT{1'b0}}};
        ring_base <= {addr[ADDR_BITS-1:SHIFT], {SHIFT{1'b0}}};
        wrap_left <= WRAP_C;
        ar_left <= beats;
        r_left  <= beats;
        error   <= 1'b0;
    end
    if (rst) begin
        m_axi_arvalid <= 1'b0;
        m_axi_araddr  <= {ADDR_BITS{1'b0}};
        m_axi_arlen   <= 8'd0;
        ar_addr       <= {ADDR_BITS{1'b0}};
        ar_left       <= {COUNT_BITS{1'b0}};
        wrap_left     <= WRAP_C;
        ring_base     <= {ADDR_BITS{1'b0}};
        r_left        <= {COUNT_BITS{1'b0}};
        /* verilator lint_off WIDTHTRUNC */
        credits       <= FIFO_DEPTH;
        /* verilator lint_on WIDTHTRUNC */
        outstanding   <= {OW{1'b0}};
        error         <= 1'b0;
    end
end

/* verilator lint_off UNUSEDSIGNAL */
wire [$clog2(FIFO_DEPTH + 1)-1:0] fifo_count;
/* verilator lint_on UNUSEDSIGNAL */

// FIFO_DEPTH places in total: DEPTH - 1 in the memory plus the output register
axis_fifo #(
    .WIDTH(DATA_BITS),
    .DEPTH(FIFO_DEPTH - 1 < 2 ? 2 : FIFO_DEPTH - 1)
) fifo_inst (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata(m_axi_rdata),
    .s_axis_tvalid(m_axi_rvalid),
    .s_axis_tready(fifo_in_ready),
    .m_axis_tdata(m_axis_tdata),
    .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready),
    .count(fifo_count)
);

endmodule

`default_nettype wire
