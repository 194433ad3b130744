/*
 * axis_dwc: AXI-Stream data-width converter (gearbox) from IN_WIDTH to OUT_WIDTH bits.
 *
 * The bit stream is preserved: the concatenation of the input words (word 0 first, each
 * word LSB first) equals the concatenation of the output words. Any pair of widths works;
 * the caller guarantees that the total number of bits is a multiple of both widths (bits
 * left over at the end of a stream stay in the converter).
 *
 * Implementation: a shift buffer of BUF = IN + OUT + min(IN, OUT) - gcd(IN, OUT) bits
 * holding `count` valid bits at its bottom. An input word is written at bit position
 * `count` (after the output word leaving in the same cycle is shifted out); only positions
 * that are multiples of gcd(IN, OUT) are reachable, so the write is a mux over
 * (BUF - IN) / gcd + 1 slots. The output word is always buf[OUT-1:0]. With that buffer
 * size the narrower side moves a word every cycle when not stalled (full throughput), and
 * s_axis_tready / m_axis_tvalid are registers (no combinational path between the ports).
 * Latency: 1 cycle (an output word is valid the cycle after its last input bit arrived).
 */

`timescale 1ns / 1ps
`default_nettype none

module axis_dwc #
(
    // input word width (bits)
    parameter IN_WIDTH = 8,
    // output word width (bits)
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

// greatest common divisor of two positive integers (elaboration-time only)
function integer gcd(input integer a, input integer b);
    integer x, y, t;
    begin
        x = a;
        y = b;
        while (y != 0) begin
            t = x % y;
            x = y;
            y = t;
        end
        gcd = x;
    end
endfunction

localparam G = gcd(IN_WIDTH, OUT_WIDTH);
localparam MIN_W = IN_WIDTH < OUT_WIDTH ? IN_WIDTH : OUT_WIDTH;
localparam BUF = IN_WIDTH + OUT_WIDTH + MIN_W - G;
// input write positions 0, G, 2G, ..., BUF - IN
localparam SLOTS = (BUF - IN_WIDTH) / G + 1;
localparam CW = $clog2(BUF + 1);
/* verilator lint_off WIDTHTRUNC */
localparam [CW-1:0] IN_W_C = IN_WIDTH;
localparam [CW-1:0] OUT_W_C = OUT_WIDTH;
localparam [CW-1:0] ROOM_C = BUF - IN_WIDTH;
/* verilator lint_on WIDTHTRUNC */

// reject illegal parameters at elaboration (the missing module name is the message)
generate
    if (IN_WIDTH < 1 || OUT_WIDTH < 1) begin : g_bad_width
        axis_dwc_parameters_IN_WIDTH_and_OUT_WIDTH_must_be_at_least_1 invalid_parameter ();
    end
endgenerate

reg [BUF-1:0] buf_reg;
reg [CW-1:0]  count_reg;
reg           s_ready_reg;
reg           m_valid_reg;

wire push = s_axis_tvalid && s_ready_reg;
wire pop  = m_valid_reg && m_axis_tready;

assign s_axis_tready = s_ready_reg;
assign m_axis_tvalid = m_valid_reg;
assign m_axis_tdata  = buf_reg[OUT_WIDTH-1:0];

// buffer after the pop, and the fill level at which the input word is written
wire [BUF-1:0] shifted = pop ? (buf_reg >> OUT_WIDTH) : buf_reg;
wire [CW-1:0]  base    = pop ? count_reg - OUT_W_C : count_reg;
wire [CW-1:0]  count_next = push ? base + IN_W_C : base;

// write the input word into the slot selected by `base` (bits above count are zero)
reg [BUF-1:0] buf_next;
integer k;
always @* begin
    buf_next = shifted;
    if (push) begin
        for (k = 0; k < SLOTS; k = k + 1) begin
            /* verilator lint_off WIDTHEXPAND */
            if (base == k * G) begin
            /* verilator lint_on WIDTHEXPAND */
                buf_next[k*G +: IN_WIDTH] = shifted[k*G +: IN_WIDTH] | s_axis_tdata;
            end
        end
    end
end

always @(posedge clk) begin
    buf_reg     <= buf_next;
    count_reg   <= count_next;
    s_ready_reg <= count_next <= ROOM_C;
    m_valid_reg <= count_next >= OUT_W_C;

    if (rst) begin
        buf_reg     <= {BUF{1'b0}};
        count_reg   <= {CW{1'b0}};
        s_ready_reg <= 1'b0;
        m_valid_reg <= 1'b0;
    end
end

endmodule

`default_nettype wire
