/*
 * axis_dwc: AXI-Stream data-width converter from IN_WIDTH to OUT_WIDTH bits.
 *
 * The bit stream is preserved: the concatenation of the input words (word 0 first, each
 * word LSB first) equals the concatenation of the output words. Any pair of widths works;
 * the caller guarantees that the total number of bits is a multiple of both widths (bits
 * left over at the end of a stream stay in the converter).
 *
 * Four implementations, chosen at elaboration; all register s_axis_tready and
 * m_axis_tvalid (no combinational path between the ports), and all move a word on the
 * narrower side every cycle when not stalled (full throughput):
 *
 * - IN = K * OUT, K >= 2: axis_dwc_unload (a holding and an unload register loaded through
 *   their clock enables, a K:1 output mux of OUT-bit words). Latency 2.
 * - OUT = K * IN, K >= 2: axis_dwc_collect (a collect and an output register loaded through
 *   their clock enables, no LUT per bit). Latency 1.
 * - Any other pair whose narrower width is at most CHAIN_MAX times gcd(IN, OUT): collect up
 *   to LCM = lcm(IN, OUT) bits, then unload (LUTs: the unload's mux; registers: about
 *   4 * LCM bits). Latency 3. The stream's length must be a multiple of the lcm (it is when
 *   it is a multiple of both widths); CHAIN_MAX = 0 turns this path off.
 * - Any other pair ("gearbox"): a shift buffer of BUF = IN + OUT + min(IN, OUT) -
 *   gcd(IN, OUT) bits holding `count` valid bits at its bottom. An input word is written at
 *   bit position `count` (after the output word leaving in the same cycle is shifted out);
 *   only positions that are multiples of gcd(IN, OUT) are reachable, so the write is a mux
 *   over (BUF - IN) / gcd + 1 slots. The output word is always buf[OUT-1:0]. Latency 1.
 */

`timescale 1ns / 1ps
`default_nettype none

module axis_dwc #
(
    // input word width (bits)
    parameter IN_WIDTH = 8,
    // output word width (bits)
    parameter OUT_WIDTH = 16,
    // a pair that is not an integer ratio goes through its least common multiple when the
    // narrower width is at most CHAIN_MAX times their gcd; 0: never (a stream whose length
    // is not a multiple of the lcm, such as kernel_unpack's, then takes the gearbox)
    parameter CHAIN_MAX = 8
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

// the implementation: an integer ratio of 2 or more unloads or collects whole words; a
// pair whose narrower width is at most CHAIN_MAX multiples of their gcd goes through their
// least common multiple (collect, then unload); any other pair takes the gearbox
// (the widths of an illegal pair are taken as 1 here: g_bad_width below reports it)
localparam IN_S = IN_WIDTH < 1 ? 1 : IN_WIDTH;
localparam OUT_S = OUT_WIDTH < 1 ? 1 : OUT_WIDTH;
localparam G_S = gcd(IN_S, OUT_S);
localparam NARROW_K = IN_S % OUT_S == 0 ? IN_S / OUT_S : 0;
localparam WIDE_K = OUT_S % IN_S == 0 ? OUT_S / IN_S : 0;
localparam LCM = IN_S / G_S * OUT_S;
localparam CHAIN = NARROW_K == 0 && WIDE_K == 0 && (IN_S < OUT_S ? IN_S : OUT_S) / G_S <= CHAIN_MAX;

generate
    if (IN_WIDTH < 1 || OUT_WIDTH < 1) begin : g_bad_width
        // reject illegal parameters at elaboration (the missing module name is the message)
        axis_dwc_parameters_IN_WIDTH_and_OUT_WIDTH_must_be_at_least_1 invalid_parameter ();
    end else if (NARROW_K >= 2) begin : g_unload
        axis_dwc_unload #(
            .IN_WIDTH(IN_WIDTH),
            .OUT_WIDTH(OUT_WIDTH)
        ) unload_inst (
            .clk(clk),
            .rst(rst),
            .s_axis_tdata(s_axis_tdata),
            .s_axis_tvalid(s_axis_tvalid),
            .s_axis_tready(s_axis_tready),
            .m_axis_tdata(m_axis_tdata),
            .m_axis_tvalid(m_axis_tvalid),
            .m_axis_tready(m_axis_tready)
        );
    end else if (WIDE_K >= 2) begin : g_collect
        axis_dwc_collect #(
            .IN_WIDTH(IN_WIDTH),
            .OUT_WIDTH(OUT_WIDTH)
        ) collect_inst (
            .clk(clk),
            .rst(rst),
            .s_axis_tdata(s_axis_tdata),
            .s_axis_tvalid(s_axis_tvalid),
            .s_axis_tready(s_axis_tready),
            .m_axis_tdata(m_axis_tdata),
            .m_axis_tvalid(m_axis_tvalid),
            .m_axis_tready(m_axis_tready)
        );
    end else if (CHAIN) begin : g_chain
        // IN -> LCM (collect: LCM / IN >= 2) -> OUT (unload: LCM / OUT >= 2)
        wire [LCM-1:0] mid_tdata;
        wire           mid_tvalid;
        wire           mid_tready;

        axis_dwc_collect #(
            .IN_WIDTH(IN_WIDTH),
            .OUT_WIDTH(LCM)
        ) collect_inst (
            .clk(clk),
            .rst(rst),
            .s_axis_tdata(s_axis_tdata),
            .s_axis_tvalid(s_axis_tvalid),
            .s_axis_tready(s_axis_tready),
            .m_axis_tdata(mid_tdata),
            .m_axis_tvalid(mid_tvalid),
            .m_axis_tready(mid_tready)
        );

        axis_dwc_unload #(
            .IN_WIDTH(LCM),
            .OUT_WIDTH(OUT_WIDTH)
        ) unload_inst (
            .clk(clk),
            .rst(rst),
            .s_axis_tdata(mid_tdata),
            .s_axis_tvalid(mid_tvalid),
            .s_axis_tready(mid_tready),
            .m_axis_tdata(m_axis_tdata),
            .m_axis_tvalid(m_axis_tvalid),
            .m_axis_tready(m_axis_tready)
        );
    end else begin : g_gearbox
        reg  s_ready_reg;
        reg  m_valid_reg;
        wire push = s_axis_tvalid && s_ready_reg;
        wire pop  = m_valid_reg && m_axis_tready;

        assign s_axis_tready = s_ready_reg;
        assign m_axis_tvalid = m_valid_reg;

        reg [BUF-1:0] buf_reg;
        reg [CW-1:0]  count_reg;

        assign m_axis_tdata = buf_reg[OUT_WIDTH-1:0];

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
    end
endgenerate

endmodule

`default_nettype wire
