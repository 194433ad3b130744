/*
 * window_decimate: the 1x1 sliding window (im2col of a 1x1 convolution or pooling) on an NHWC
 * stream: every STRIDE_H-th row's every STRIDE_W-th pixel, as it is.
 *
 * Input: frames of IFM_H x IFM_W pixels, row-major, each pixel CF = CH/SIMD words of SIMD
 * consecutive channels (element 0 in the LSBs). Output, per frame: the CF words of input
 * pixel (oy*STRIDE_H, ox*STRIDE_W) for each output pixel (oy, ox) row-major, OFM_H =
 * (IFM_H - 1)/STRIDE_H + 1 (floor), OFM_W likewise: the stream sliding_window gives with
 * K_H = K_W = 1 (PAR = MMV = IPAR = 1), without its buffer. A pixel that is kept passes
 * through the output skid buffer; the words of a pixel that is dropped are accepted without
 * waiting for the output. With stride 1 every word passes.
 *
 * Counters: channel word, column and its phase in the stride, row and its phase. One input
 * word per cycle; latency 1 cycle (the skid buffer). s_axis_tready depends on registers only
 * (the skid's registered ready and the phase counters).
 */

`timescale 1ns / 1ps
`default_nettype none

module window_decimate #
(
    // input feature map height and width (pixels)
    parameter IFM_H = 8,
    parameter IFM_W = 8,
    // channels; channels per word (divides CH)
    parameter CH = 4,
    parameter SIMD = 2,
    // vertical and horizontal stride (>= 1)
    parameter STRIDE_H = 2,
    parameter STRIDE_W = 2,
    // bits of an element
    parameter ELEM_BITS = 4
)
(
    input  wire                        clk,
    input  wire                        rst,

    input  wire [SIMD*ELEM_BITS-1:0]   s_axis_tdata,
    input  wire                        s_axis_tvalid,
    output wire                        s_axis_tready,

    output wire [SIMD*ELEM_BITS-1:0]   m_axis_tdata,
    output wire                        m_axis_tvalid,
    input  wire                        m_axis_tready
);

localparam WIDTH = SIMD * ELEM_BITS;
localparam CF = CH / SIMD;
localparam CFW = CF > 1 ? $clog2(CF) : 1;
localparam XW = IFM_W > 1 ? $clog2(IFM_W) : 1;
localparam YW = IFM_H > 1 ? $clog2(IFM_H) : 1;
localparam PXW = STRIDE_W > 1 ? $clog2(STRIDE_W) : 1;
localparam PYW = STRIDE_H > 1 ? $clog2(STRIDE_H) : 1;

/* verilator lint_off WIDTHTRUNC */
localparam [CFW-1:0] CF_LAST = CF - 1;
localparam [XW-1:0]  X_LAST  = IFM_W - 1;
localparam [YW-1:0]  Y_LAST  = IFM_H - 1;
localparam [PXW-1:0] PX_LAST = STRIDE_W - 1;
localparam [PYW-1:0] PY_LAST = STRIDE_H - 1;
/* verilator lint_on WIDTHTRUNC */

// reject illegal parameters at elaboration (the missing module name is the message)
generate
    if (SIMD < 1 || CH % SIMD != 0) begin : g_bad_simd
        window_decimate_parameter_SIMD_must_divide_CH invalid_parameter ();
    end
    if (IFM_H < 1 || IFM_W < 1 || ELEM_BITS < 1) begin : g_bad_size
        window_decimate_parameters_IFM_H_IFM_W_ELEM_BITS_must_be_at_least_1 invalid_parameter ();
    end
    if (STRIDE_H < 1 || STRIDE_W < 1) begin : g_bad_stride
        window_decimate_parameters_STRIDE_H_STRIDE_W_must_be_at_least_1 invalid_parameter ();
    end
endgenerate

reg [CFW-1:0] cg_reg;
reg [XW-1:0]  x_reg;
reg [YW-1:0]  y_reg;
reg [PXW-1:0] px_reg;
reg [PYW-1:0] py_reg;

wire en;
// a pixel is kept when its column and row are multiples of the strides (phase 0)
wire keep = (px_reg == {PXW{1'b0}}) && (py_reg == {PYW{1'b0}});
assign s_axis_tready = keep ? en : 1'b1;
wire step = s_axis_tvalid && s_axis_tready;

always @(posedge clk) begin
    if (step) begin
        if (cg_reg == CF_LAST) begin
            cg_reg <= {CFW{1'b0}};
            if (x_reg == X_LAST) begin
                x_reg  <= {XW{1'b0}};
                px_reg <= {PXW{1'b0}};
                if (y_reg == Y_LAST) begin
                    y_reg  <= {YW{1'b0}};
                    py_reg <= {PYW{1'b0}};
                end else begin
                    y_reg  <= y_reg + 1'b1;
                    py_reg <= (py_reg == PY_LAST) ? {PYW{1'b0}} : py_reg + 1'b1;
                end
            end else begin
                x_reg  <= x_reg + 1'b1;
                px_reg <= (px_reg == PX_LAST) ? {PXW{1'b0}} : px_reg + 1'b1;
            end
        end else begin
            cg_reg <= cg_reg + 1'b1;
        end
    end
    if (rst) begin
        cg_reg <= {CFW{1'b0}};
        x_reg  <= {XW{1'b0}};
        y_reg  <= {YW{1'b0}};
        px_reg <= {PXW{1'b0}};
        py_reg <= {PYW{1'b0}};
    end
end

axis_skid #(.WIDTH(WIDTH)) out_skid (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata(s_axis_tdata),
    .s_axis_tvalid(s_axis_tvalid && keep),
    .s_axis_tready(en),
    .m_axis_tdata(m_axis_tdata),
    .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready)
);

endmodule

`default_nettype wire
