/*
 * fm_padding: pads an NHWC feature map stream with a constant border.
 *
 * Input: frames of IFM_H x IFM_W pixels, row-major, CF = CH/SIMD words of SIMD channels per
 * pixel. Output: frames of (PAD_TOP + IFM_H + PAD_BOTTOM) x (PAD_LEFT + IFM_W + PAD_RIGHT)
 * pixels in the same order; border pixels are words of SIMD copies of the element bit
 * pattern PAD_VALUE, the inner pixels are the input words in order.
 *
 * The output position counters decide per word whether it is a border word (made here,
 * no input consumed) or the next input word. The first word of a frame waits for
 * s_axis_tvalid even when it is a border word, so no words of a frame whose input has not
 * begun are emitted. One output word per cycle while the output is
 * ready and the input supplies inner words; latency 1 cycle (output skid buffer, whose
 * registered ready is s_axis_tready's only dependence on m_axis_tready).
 */

`timescale 1ns / 1ps
`default_nettype none

module fm_padding #
(
    // input feature map height (pixels)
    parameter IFM_H = 4,
    // input feature map width (pixels)
    parameter IFM_W = 4,
    // channels
    parameter CH = 2,
    // channels per word (divides CH)
    parameter SIMD = 1,
    // border rows above the map
    parameter PAD_TOP = 1,
    // border rows below the map
    parameter PAD_BOTTOM = 1,
    // border columns left of the map
    parameter PAD_LEFT = 1,
    // border columns right of the map
    parameter PAD_RIGHT = 1,
    // bits of an element
    parameter ELEM_BITS = 4,
    // element bit pattern of the border (the low ELEM_BITS bits are used)
    parameter PAD_VALUE = 0
)
(
    input  wire                        clk,
    input  wire                        rst,

    // input stream: SIMD elements of ELEM_BITS bits
    input  wire [SIMD*ELEM_BITS-1:0]   s_axis_tdata,
    input  wire                        s_axis_tvalid,
    output wire                        s_axis_tready,

    // output stream: SIMD elements of ELEM_BITS bits
    output wire [SIMD*ELEM_BITS-1:0]   m_axis_tdata,
    output wire                        m_axis_tvalid,
    input  wire                        m_axis_tready
);

localparam WIDTH = SIMD * ELEM_BITS;
localparam CF = CH / SIMD;
localparam OH = PAD_TOP + IFM_H + PAD_BOTTOM;
localparam OW = PAD_LEFT + IFM_W + PAD_RIGHT;
localparam CFW = CF > 1 ? $clog2(CF) : 1;
localparam XW = $clog2(OW + 1);
localparam YW = $clog2(OH + 1);

/* verilator lint_off WIDTHTRUNC */
localparam [CFW-1:0]       CF_LAST = CF - 1;
localparam [XW-1:0]        X_LAST  = OW - 1;
localparam [YW-1:0]        Y_LAST  = OH - 1;
localparam [XW-1:0]        X_IN0   = PAD_LEFT;
localparam [XW-1:0]        X_IN1   = PAD_LEFT + IFM_W;
localparam [YW-1:0]        Y_IN0   = PAD_TOP;
localparam [YW-1:0]        Y_IN1   = PAD_TOP + IFM_H;
localparam [ELEM_BITS-1:0] PAD_E   = PAD_VALUE;
/* verilator lint_on WIDTHTRUNC */
localparam [WIDTH-1:0]     PAD_WORD = {SIMD{PAD_E}};

// reject illegal parameters at elaboration (the missing module name is the message)
generate
    if (SIMD < 1 || CH % SIMD != 0) begin : g_bad_simd
        fm_padding_parameter_SIMD_must_divide_CH invalid_parameter ();
    end
    if (IFM_H < 1 || IFM_W < 1 || ELEM_BITS < 1) begin : g_bad_size
        fm_padding_parameters_IFM_H_IFM_W_ELEM_BITS_must_be_at_least_1 invalid_parameter ();
    end
    if (PAD_TOP < 0 || PAD_BOTTOM < 0 || PAD_LEFT < 0 || PAD_RIGHT < 0) begin : g_bad_pad
        fm_padding_parameters_PAD_must_not_be_negative invalid_parameter ();
    end
endgenerate

// clock enable: the output skid buffer can take a word
wire en;

reg [CFW-1:0] cg_reg;
reg [XW-1:0]  x_reg;
reg [YW-1:0]  y_reg;

/* verilator lint_off UNSIGNED */
wire border = (y_reg < Y_IN0) || (y_reg >= Y_IN1) || (x_reg < X_IN0) || (x_reg >= X_IN1);
/* verilator lint_on UNSIGNED */
// a frame starts only when its input has started (no border words of a frame not yet sent)
wire first = (y_reg == {YW{1'b0}}) && (x_reg == {XW{1'b0}}) && (cg_reg == {CFW{1'b0}});
wire out_valid = (border && !first) || s_axis_tvalid;
wire step = en && out_valid;

assign s_axis_tready = en && !border;

always @(posedge clk) begin
    if (step) begin
        if (cg_reg == CF_LAST) begin
            cg_reg <= {CFW{1'b0}};
            if (x_reg == X_LAST) begin
                x_reg <= {XW{1'b0}};
                y_reg <= (y_reg == Y_LAST) ? {YW{1'b0}} : y_reg + 1'b1;
            end else begin
                x_reg <= x_reg + 1'b1;
            end
        end else begin
            cg_reg <= cg_reg + 1'b1;
        end
    end
    if (rst) begin
        cg_reg <= {CFW{1'b0}};
        x_reg  <= {XW{1'b0}};
        y_reg  <= {YW{1'b0}};
    end
end

axis_skid #(.WIDTH(WIDTH)) out_skid (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata(border ? PAD_WORD : s_axis_tdata),
    .s_axis_tvalid(out_valid),
    .s_axis_tready(en),
    .m_axis_tdata(m_axis_tdata),
    .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready)
);

endmodule

`default_nettype wire
