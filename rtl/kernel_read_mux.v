/*
 * kernel_read_mux: N AXI4 read masters (address and data channels) onto one AXI4 read port.
 *
 * The kernel's input reader and its weight streamers (external weights) share the read
 * channels of m_axi_gmem. Address requests are granted round robin, one at a time: the
 * granted source's AR is taken into an output register (its ARREADY pulses) and driven on
 * m_axi until ARREADY. Every request goes out with the same ID, so the memory answers in
 * request order: the source index of each request goes into an order FIFO of ORDER_DEPTH
 * places, and the read data channel is connected to the source at its head until the beat
 * with RLAST, which pops it. A request is granted only while the order FIFO has a free
 * place, so ORDER_DEPTH bounds the bursts in flight (use at least the sum of the sources'
 * outstanding bursts to never slow them down). The sources' other AR fields (size, burst,
 * cache, ...) are the same by construction; those of source 0 are passed on.
 */

`timescale 1ns / 1ps
`default_nettype none

module kernel_read_mux #
(
    // read masters (>= 1); source 0 supplies the constant AR fields
    parameter N = 2,
    // AXI address width (bits)
    parameter ADDR_BITS = 64,
    // AXI data width (bits)
    parameter DATA_BITS = 128,
    // requests in flight at most (order FIFO places, >= 1)
    parameter ORDER_DEPTH = 16
)
(
    input  wire                    clk,
    input  wire                    rst,

    // sources: address channel (source i at [i*W +: W]) and data channel
    input  wire [N*ADDR_BITS-1:0]  s_araddr,
    input  wire [N*8-1:0]          s_arlen,
    input  wire [2:0]              s_arsize,
    input  wire [1:0]              s_arburst,
    input  wire                    s_arlock,
    input  wire [3:0]              s_arcache,
    input  wire [2:0]              s_arprot,
    input  wire [3:0]              s_arqos,
    input  wire [N-1:0]            s_arvalid,
    output reg  [N-1:0]            s_arready,
    output wire [DATA_BITS-1:0]    s_rdata,
    output wire [1:0]              s_rresp,
    output wire                    s_rlast,
    output wire [N-1:0]            s_rvalid,
    input  wire [N-1:0]            s_rready,

    // the shared AXI4 read port
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
    input  wire [DATA_BITS-1:0]    m_axi_rdata,
    input  wire [1:0]              m_axi_rresp,
    input  wire                    m_axi_rlast,
    input  wire                    m_axi_rvalid,
    output wire                    m_axi_rready
);

localparam SW = N > 1 ? $clog2(N) : 1;
localparam OAW = ORDER_DEPTH > 1 ? $clog2(ORDER_DEPTH) : 1;
localparam CW = $clog2(ORDER_DEPTH + 1);

generate
    if (N < 1 || ORDER_DEPTH < 1) begin : g_bad_params
        kernel_read_mux_parameters_N_and_ORDER_DEPTH_must_be_at_least_1 invalid_parameter ();
    end
endgenerate

assign m_axi_arsize  = s_arsize;
assign m_axi_arburst = s_arburst;
assign m_axi_arlock  = s_arlock;
assign m_axi_arcache = s_arcache;
assign m_axi_arprot  = s_arprot;
assign m_axi_arqos   = s_arqos;

// ---- order FIFO: source of every request in flight ---------------------------------------
reg [SW-1:0]  order [0:ORDER_DEPTH-1];
reg [OAW-1:0] wr_ptr, rd_ptr;
reg [CW-1:0]  count;
wire [SW-1:0] head = order[rd_ptr];
wire          have_head = count != 0;

/* verilator lint_off WIDTHTRUNC */
/* verilator lint_off WIDTHEXPAND */
localparam [OAW-1:0] PTR_LAST = ORDER_DEPTH - 1;
localparam [CW-1:0]  DEPTH_C = ORDER_DEPTH;
localparam [SW-1:0]  SRC_LAST = N - 1;
localparam [CW-1:0]  C_ONE = 1, C_ZERO = 0;
/* verilator lint_on WIDTHEXPAND */
/* verilator lint_on WIDTHTRUNC */

// ---- address channel: round-robin grant into the output register --------------------------
reg  [SW-1:0] last_grant;
reg  [SW-1:0] pick;
reg           found;
integer i;
always @* begin
    // the first requesting source after last_grant (cyclically)
    pick  = last_grant;
    found = 1'b0;
    for (i = 1; i <= N; i = i + 1) begin
        /* verilator lint_off WIDTHTRUNC */
        /* verilator lint_off WIDTHEXPAND */
        if (!found && s_arvalid[(last_grant + i) % N]) begin
            pick  = (last_grant + i) % N;
            found = 1'b1;
        end
        /* verilator lint_on WIDTHEXPAND */
        /* verilator lint_on WIDTHTRUNC */
    end
end

wire grant = !m_axi_arvalid && found && count != DEPTH_C;
wire pop = have_head && m_axi_rvalid && m_axi_rready && m_axi_rlast;

always @(posedge clk) begin
    s_arready <= {N{1'b0}};
    if (m_axi_arvalid && m_axi_arready) m_axi_arvalid <= 1'b0;
    if (grant && !(|s_arready)) begin
        m_axi_arvalid <= 1'b1;
        m_axi_araddr  <= s_araddr[pick*ADDR_BITS +: ADDR_BITS];
        m_axi_arlen   <= s_arlen[pick*8 +: 8];
        s_arready     <= {{(N-1){1'b0}}, 1'b1} << pick;
        last_grant    <= pick;
        order[wr_ptr] <= pick;
        wr_ptr        <= (wr_ptr == PTR_LAST) ? {OAW{1'b0}} : wr_ptr + 1'b1;
    end
    if (pop) begin
        rd_ptr <= (rd_ptr == PTR_LAST) ? {OAW{1'b0}} : rd_ptr + 1'b1;
    end
    count <= count + ((grant && !(|s_arready)) ? C_ONE : C_ZERO) - (pop ? C_ONE : C_ZERO);
    if (rst) begin
        s_arready     <= {N{1'b0}};
        m_axi_arvalid <= 1'b0;
        m_axi_araddr  <= {ADDR_BITS{1'b0}};
        m_axi_arlen   <= 8'd0;
        last_grant    <= SRC_LAST;
        wr_ptr        <= {OAW{1'b0}};
        rd_ptr        <= {OAW{1'b0}};
        count         <= {CW{1'b0}};
    end
end

// ---- data channel: to the source at the head of the order FIFO ------------------------------
assign s_rdata  = m_axi_rdata;
assign s_rresp  = m_axi_rresp;
assign s_rlast  = m_axi_rlast;
assign s_rvalid = (have_head && m_axi_rvalid) ? ({{(N-1){1'b0}}, 1'b1} << head) : {N{1'b0}};
assign m_axi_rready = have_head && s_rready[head];

endmodule

`default_nettype wire
