/*
 * sliding_window: im2col on an NHWC stream (convolution input generator).
 *
 * Input: frames of IFM_H x IFM_W pixels, row-major, each pixel CF = CH/SIMD words of SIMD
 * consecutive channels (element 0 in the LSBs). Output, per frame: for each output pixel
 * (oy, ox) row-major, for each kernel position (ky, kx) row-major, for each channel group cg:
 * the word cg of input pixel (oy*STRIDE_H + ky, ox*STRIDE_W + kx).
 * OFM_H = (IFM_H - K_H)/STRIDE_H + 1 (floor), OFM_W likewise; rows and columns beyond the
 * last full window are read and dropped. Dilation 1, no padding (see fm_padding).
 *
 * Buffer: the input words of consecutive frames are written, in stream order, into a
 * circular memory of DEPTH words (one write port, one registered read port). The reader
 * walks the windows; the "window base" is the stream index of the current window's first
 * word, fill = (words written) - (window base). A word at offset off from the base
 * ((ky*IFM_W + kx)*CF + cg) is read when off < fill; a word is written when fill < DEPTH,
 * so no word of the current (or a later) window is overwritten. DEPTH must be at least the
 * window span (K_H-1)*IFM_W*CF + K_W*CF (then it never deadlocks); the default
 * (BUF_WORDS = 0) is (K_H + min(STRIDE_H, K_H)) * IFM_W * CF words, which lets writing run
 * ahead far enough that reading and writing overlap, also across frame boundaries:
 * about max(input words, output words) cycles per frame (docs/rtl_cnn.md has measurements).
 *
 * Window-parallel mode (PAR > 1): an output word carries PAR consecutive words of the
 * window order above (lane i at bits [i*WIDTH +: WIDTH], so the element order is the same as
 * PAR = 1), i.e. a window leaves in K_H*K_W*CF/PAR cycles. PAR either divides K_W*CF (the
 * words of one kernel row: a lane group lies inside one kernel row) or is K_W*CF times a
 * divisor of K_H (a group is PAR/(K_W*CF) whole kernel rows); either way lane i sits at a
 * constant offset from the group's first word, and the buffer memory is replicated PAR
 * times (one read port per lane, every copy written with each input word). A group is
 * issued when its last word is written. About max(input words, output words) cycles per
 * frame, output words = OFM_H*OFM_W*K_H*K_W*CF/PAR.
 *
 * Multi-pixel mode: MMV > 1 emits MMV horizontally adjacent windows per output word (window m
 * at bits [m*PAR*WIDTH +: PAR*WIDTH]); it needs whole windows (PAR = K_H*K_W*CF), so the
 * stream keeps the order above, and MMV dividing OFM_W. IPAR > 1 (a power of two dividing
 * the frame's IFM_H*IFM_W*CF words) takes IPAR consecutive input words per input word
 * (word k at bits [k*WIDTH +: WIDTH]); each buffer copy is then IPAR banks of DEPTH/IPAR
 * words (stream word a in bank a % IPAR), one write port each, and a lane reads its word from
 * the bank it falls in. Lanes: MMV*PAR buffer copies.
 *
 * Pipeline: read issue (counters, fill compare) -> registered memory read -> output skid
 * buffer, clock-enabled by the skid's registered ready. s_axis_tready is a register.
 * Latency: an output word is valid 2 cycles after the rising edge that accepted the last
 * input word it needs (it can be accepted 3 cycles after that handshake).
 */

`timescale 1ns / 1ps
`default_nettype none

module sliding_window #
(
    // input feature map height (pixels)
    parameter IFM_H = 8,
    // input feature map width (pixels)
    parameter IFM_W = 8,
    // channels
    parameter CH = 4,
    // channels per word (divides CH)
    parameter SIMD = 2,
    // kernel height (1..IFM_H)
    parameter K_H = 3,
    // kernel width (1..IFM_W)
    parameter K_W = 3,
    // vertical stride (>= 1)
    parameter STRIDE_H = 1,
    // horizontal stride (>= 1)
    parameter STRIDE_W = 1,
    // bits of an element
    parameter ELEM_BITS = 4,
    // window words per output word (window-parallel mode): divides K_W*CH/SIMD, or is
    // K_W*CH/SIMD times a divisor of K_H
    parameter PAR = 1,
    // output pixels (horizontally adjacent windows) per output word; > 1 needs PAR to be the
    // whole window (K_H*K_W*CH/SIMD) and must divide OFM_W
    parameter MMV = 1,
    // input words per input beat (a power of two dividing IFM_H*IFM_W*CH/SIMD)
    parameter IPAR = 1,
    // buffer words; 0: (K_H + min(STRIDE_H, K_H)) * IFM_W * CH/SIMD rounded up to a multiple
    // of IPAR, otherwise a multiple of IPAR, at least (K_H - 1) * IFM_W * CH/SIMD + K_W *
    // CH/SIMD + (MMV - 1) * STRIDE_W * CH/SIMD + IPAR - 1 (smaller buffers cost throughput)
    parameter BUF_WORDS = 0,
    // buffer memory implementation: "auto", "block", "distributed" or "registers"
    parameter RAM_STYLE = "auto"
)
(
    input  wire                        clk,
    input  wire                        rst,

    // input stream: IPAR*SIMD elements of ELEM_BITS bits
    input  wire [IPAR*SIMD*ELEM_BITS-1:0] s_axis_tdata,
    input  wire                        s_axis_tvalid,
    output wire                        s_axis_tready,

    // output stream: MMV*PAR*SIMD elements of ELEM_BITS bits
    output wire [MMV*PAR*SIMD*ELEM_BITS-1:0] m_axis_tdata,
    output wire                        m_axis_tvalid,
    input  wire                        m_axis_tready
);

localparam WIDTH = SIMD * ELEM_BITS;
localparam CF = CH / SIMD;
localparam OFM_H = (IFM_H - K_H) / STRIDE_H + 1;
localparam OFM_W = (IFM_W - K_W) / STRIDE_W + 1;
localparam ROW_WORDS = IFM_W * CF;
localparam FRAME_WORDS = IFM_H * ROW_WORDS;
// words from the first to the last word of a window, inclusive
localparam SPAN = (K_H - 1) * ROW_WORDS + K_W * CF;
localparam SH_BUF = STRIDE_H < K_H ? STRIDE_H : K_H;
localparam DEPTH0 = (K_H + SH_BUF) * ROW_WORDS;
localparam DEPTH = BUF_WORDS > 0 ? BUF_WORDS : ((DEPTH0 + IPAR - 1) / IPAR) * IPAR;
// span of the MMV windows of an output word
localparam SPAN_M = SPAN + (MMV - 1) * STRIDE_W * CF;
localparam LG = IPAR > 1 ? $clog2(IPAR) : 0;
localparam BANK_DEPTH = DEPTH / IPAR;
// window base steps (base: first window of a group of MMV): next group in the row, first
// group of the next output row, next frame
localparam STEP_X = MMV * STRIDE_W * CF;
localparam STEP_Y = (STRIDE_H * IFM_W - (OFM_W - MMV) * STRIDE_W) * CF;
localparam STEP_F = FRAME_WORDS - ((OFM_H - 1) * STRIDE_H * IFM_W + (OFM_W - MMV) * STRIDE_W) * CF;
localparam KROW = K_W * CF;
// lane groups: GR words of a kernel row per group (kr step), RS kernel rows per group (ky step)
localparam GR = PAR <= KROW ? PAR : KROW;
localparam RS = PAR <= KROW ? 1 : PAR / KROW;
// offset increment from the first word of a row's last group to the first word of the
// group RS rows down
localparam ROW_JUMP = RS * ROW_WORDS - KROW + GR;
// offset of the last lane from the group's first word
localparam DMAX = (MMV - 1) * STRIDE_W * CF + (RS - 1) * ROW_WORDS + GR - 1;
localparam LANES = MMV * PAR;
localparam OWIDTH = LANES * WIDTH;

localparam AW = DEPTH > 1 ? $clog2(DEPTH) : 1;
localparam OW = SPAN > 1 ? $clog2(SPAN) : 1;
localparam KRW = KROW > 1 ? $clog2(KROW) : 1;
localparam KYW = K_H > 1 ? $clog2(K_H) : 1;
localparam OXW = OFM_W > 1 ? $clog2(OFM_W) : 1;
localparam BW = BANK_DEPTH > 1 ? $clog2(BANK_DEPTH) : 1;
localparam OYW = OFM_H > 1 ? $clog2(OFM_H) : 1;
// fill is in [-FRAME_WORDS, DEPTH]: signed
localparam FW = $clog2(FRAME_WORDS + DEPTH + 2) + 1;

/* verilator lint_off WIDTHTRUNC */
localparam [AW:0]    DEPTH_A   = DEPTH;
localparam [AW:0]    STEP_X_M  = STEP_X % DEPTH;
localparam [AW:0]    STEP_Y_M  = STEP_Y % DEPTH;
localparam [AW:0]    STEP_F_M  = STEP_F % DEPTH;
localparam [BW-1:0]  LAST_ROW  = BANK_DEPTH - 1;
localparam [FW-1:0]  ROOM_F    = DEPTH - IPAR + 1;
localparam [FW-1:0]  IPAR_F    = IPAR;
localparam [OXW-1:0] MMV_X     = MMV;
localparam [FW-1:0]  STEP_X_F  = STEP_X;
localparam [FW-1:0]  STEP_Y_F  = STEP_Y;
localparam [FW-1:0]  STEP_F_F  = STEP_F;
localparam [OW-1:0]  ROW_JUMP_O = ROW_JUMP;
localparam [OW-1:0]  GR_O      = GR;
localparam [KRW-1:0] GR_K      = GR;
localparam [KRW-1:0] KROW_LAST = KROW - GR;
localparam [KYW-1:0] KY_LAST   = K_H - RS;
localparam [KYW-1:0] RS_K      = RS;
localparam [FW-1:0]  DMAX_F    = DMAX;
localparam [OXW-1:0] OX_LAST   = OFM_W - MMV;
localparam [OYW-1:0] OY_LAST   = OFM_H - 1;
/* verilator lint_on WIDTHTRUNC */
/* verilator lint_off WIDTHEXPAND */
localparam STYLE = (RAM_STYLE == "auto") ? 0 : (RAM_STYLE == "block") ? 1 :
                   (RAM_STYLE == "distributed") ? 2 : (RAM_STYLE == "registers") ? 3 : -1;
/* verilator lint_on WIDTHEXPAND */

// reject illegal parameters at elaboration (the missing module name is the message)
generate
    if (SIMD < 1 || CH % SIMD != 0) begin : g_bad_simd
        sliding_window_parameter_SIMD_must_divide_CH invalid_parameter ();
    end
    if (K_H < 1 || K_W < 1 || K_H > IFM_H || K_W > IFM_W) begin : g_bad_kernel
        sliding_window_parameters_K_H_K_W_must_be_1_to_IFM_H_IFM_W invalid_parameter ();
    end
    if (STRIDE_H < 1 || STRIDE_W < 1) begin : g_bad_stride
        sliding_window_parameters_STRIDE_H_STRIDE_W_must_be_at_least_1 invalid_parameter ();
    end
    if (ELEM_BITS < 1) begin : g_bad_bits
        sliding_window_parameter_ELEM_BITS_must_be_at_least_1 invalid_parameter ();
    end
    if (PAR < 1 || !((KROW % PAR == 0) || (PAR % KROW == 0 && K_H % (PAR / KROW) == 0))) begin : g_bad_par
        sliding_window_parameter_PAR_must_divide_K_W_CH_SIMD_or_be_whole_kernel_rows invalid_parameter ();
    end
    if (MMV < 1 || OFM_W % MMV != 0 || (MMV > 1 && PAR != K_H * KROW)) begin : g_bad_mmv
        sliding_window_parameter_MMV_must_divide_OFM_W_and_needs_PAR_the_whole_window invalid_parameter ();
    end
    if (IPAR < 1 || (IPAR & (IPAR - 1)) != 0 || FRAME_WORDS % IPAR != 0) begin : g_bad_ipar
        sliding_window_parameter_IPAR_must_be_a_power_of_two_dividing_the_frame_words invalid_parameter ();
    end
    if (DEPTH % IPAR != 0 || DEPTH < SPAN_M + IPAR - 1) begin : g_bad_depth
        sliding_window_parameter_BUF_WORDS_must_be_a_multiple_of_IPAR_and_hold_the_span invalid_parameter ();
    end
    if (BUF_WORDS != 0 && BUF_WORDS < SPAN) begin : g_bad_buf
        sliding_window_parameter_BUF_WORDS_must_be_0_or_at_least_the_window_span invalid_parameter ();
    end
endgenerate

// pipeline clock enable: the output skid buffer can take a word
wire en;

// ------------------------------------------------------------------------------------------
// write side
// ------------------------------------------------------------------------------------------

reg  [BW-1:0]        wr_addr_reg;  // bank row of the next input beat
reg  signed [FW-1:0] fill_reg;
reg                  wr_ok_reg;
wire                 wr = s_axis_tvalid && wr_ok_reg;

assign s_axis_tready = wr_ok_reg;

// ------------------------------------------------------------------------------------------
// read side: window walk
// ------------------------------------------------------------------------------------------

reg [AW-1:0]  base_reg;    // memory address of the window base
reg [OW-1:0]  off_reg;     // offset of the next word from the window base
reg [KRW-1:0] kr_reg;      // word within the kernel row (kx*CF + cg) of the group's first lane
reg [KYW-1:0] ky_reg;
reg [OXW-1:0] ox_reg;
reg [OYW-1:0] oy_reg;

wire issue   = en && ($signed({{(FW-OW){1'b0}}, off_reg} + DMAX_F) < fill_reg);
wire row_end = (kr_reg == KROW_LAST);
wire win_end = row_end && (ky_reg == KY_LAST);
wire adv     = issue && win_end;

// read address of lane (m, i), m = li / PAR, i = li % PAR: base + m*STRIDE_W*CF +
// (i / GR) * ROW_WORDS + i % GR + off modulo DEPTH (that sum - base < SPAN_M <= DEPTH)
wire [LANES*AW-1:0] raddr;
genvar li;
generate
    for (li = 0; li < LANES; li = li + 1) begin : g_raddr
        /* verilator lint_off WIDTHTRUNC */
        localparam [AW:0] DELTA = (li / PAR) * STRIDE_W * CF + ((li % PAR) / GR) * ROW_WORDS
                                  + (li % PAR) % GR;
        wire [AW:0] sum = {1'b0, base_reg} + {{(AW+1-OW){1'b0}}, off_reg} + DELTA;
        assign raddr[li*AW +: AW] = (sum >= DEPTH_A) ? sum - DEPTH_A : sum;
        /* verilator lint_on WIDTHTRUNC */
    end
endgenerate

// base step of this advance (actual and modulo DEPTH)
reg  [FW-1:0] step_f;
reg  [AW:0]   step_m;
always @* begin
    if (ox_reg != OX_LAST) begin
        step_f = STEP_X_F;
        step_m = STEP_X_M;
    end else if (oy_reg != OY_LAST) begin
        step_f = STEP_Y_F;
        step_m = STEP_Y_M;
    end else begin
        step_f = STEP_F_F;
        step_m = STEP_F_M;
    end
end
wire [AW:0]   base_sum = {1'b0, base_reg} + step_m;
/* verilator lint_off WIDTHTRUNC */
wire [AW-1:0] base_next = (base_sum >= DEPTH_A) ? base_sum - DEPTH_A : base_sum;
/* verilator lint_on WIDTHTRUNC */

wire signed [FW-1:0] fill_next = fill_reg + (wr ? $signed(IPAR_F) : $signed({FW{1'b0}}))
                                 - (adv ? $signed(step_f) : $signed({FW{1'b0}}));

always @(posedge clk) begin
    if (wr) begin
        wr_addr_reg <= (wr_addr_reg == LAST_ROW) ? {BW{1'b0}} : wr_addr_reg + 1'b1;
    end
    fill_reg  <= fill_next;
    wr_ok_reg <= fill_next < $signed(ROOM_F);

    if (issue) begin
        if (row_end) begin
            kr_reg <= {KRW{1'b0}};
            if (win_end) begin
                ky_reg  <= {KYW{1'b0}};
                off_reg <= {OW{1'b0}};
                base_reg <= base_next;
                if (ox_reg != OX_LAST) begin
                    ox_reg <= ox_reg + MMV_X;
                end else begin
                    ox_reg <= {OXW{1'b0}};
                    oy_reg <= (oy_reg == OY_LAST) ? {OYW{1'b0}} : oy_reg + 1'b1;
                end
            end else begin
                ky_reg  <= ky_reg + RS_K;
                off_reg <= off_reg + ROW_JUMP_O;
            end
        end else begin
            kr_reg  <= kr_reg + GR_K;
            off_reg <= off_reg + GR_O;
        end
    end

    if (rst) begin
        wr_addr_reg <= {BW{1'b0}};
        fill_reg    <= {FW{1'b0}};
        wr_ok_reg   <= 1'b0;
        base_reg    <= {AW{1'b0}};
        off_reg     <= {OW{1'b0}};
        kr_reg      <= {KRW{1'b0}};
        ky_reg      <= {KYW{1'b0}};
        ox_reg      <= {OXW{1'b0}};
        oy_reg      <= {OYW{1'b0}};
    end
end

// ------------------------------------------------------------------------------------------
// buffer memory (separate always blocks so that tools infer RAM) and read stage
// ------------------------------------------------------------------------------------------

wire [OWIDTH-1:0] rd_data;
reg              rd_valid_reg;

// one buffer copy per lane, all written with every input beat; a copy is IPAR banks of
// BANK_DEPTH words (stream word a in bank a % IPAR, row a / IPAR)
genvar mi, bi;
generate
    if (STYLE < 0 || STYLE > 3) begin : g_bad_style
        sliding_window_parameter_RAM_STYLE_must_be_auto_block_distributed_or_registers invalid_parameter ();
    end
    for (mi = 0; mi < LANES; mi = mi + 1) begin : g_lane
        wire [AW-1:0] ra = raddr[mi*AW +: AW];
        /* verilator lint_off WIDTHTRUNC */
        wire [BW-1:0] rrow = ra >> LG;
        /* verilator lint_on WIDTHTRUNC */
        wire [IPAR*WIDTH-1:0] rd_banks;
        for (bi = 0; bi < IPAR; bi = bi + 1) begin : g_bank
            reg [WIDTH-1:0] rd_bank;
            assign rd_banks[bi*WIDTH +: WIDTH] = rd_bank;
            if (STYLE == 1) begin : g_block
                (* ram_style = "block" *) reg [WIDTH-1:0] mem [0:BANK_DEPTH-1];
                always @(posedge clk) begin
                    if (wr) mem[wr_addr_reg] <= s_axis_tdata[bi*WIDTH +: WIDTH];
                    if (en) rd_bank <= mem[rrow];
                end
            end else if (STYLE == 2) begin : g_distributed
                (* ram_style = "distributed" *) reg [WIDTH-1:0] mem [0:BANK_DEPTH-1];
                always @(posedge clk) begin
                    if (wr) mem[wr_addr_reg] <= s_axis_tdata[bi*WIDTH +: WIDTH];
                    if (en) rd_bank <= mem[rrow];
                end
            end else if (STYLE == 3) begin : g_registers
                (* ram_style = "registers" *) reg [WIDTH-1:0] mem [0:BANK_DEPTH-1];
                always @(posedge clk) begin
                    if (wr) mem[wr_addr_reg] <= s_axis_tdata[bi*WIDTH +: WIDTH];
                    if (en) rd_bank <= mem[rrow];
                end
            end else begin : g_auto
                reg [WIDTH-1:0] mem [0:BANK_DEPTH-1];
                always @(posedge clk) begin
                    if (wr) mem[wr_addr_reg] <= s_axis_tdata[bi*WIDTH +: WIDTH];
                    if (en) rd_bank <= mem[rrow];
                end
            end
        end
        if (IPAR > 1) begin : g_sel
            // the bank of the word read, registered with the read
            reg [LG-1:0] sel_reg;
            always @(posedge clk) begin
                if (en) sel_reg <= ra[LG-1:0];
            end
            assign rd_data[mi*WIDTH +: WIDTH] = rd_banks[sel_reg*WIDTH +: WIDTH];
        end else begin : g_nosel
            assign rd_data[mi*WIDTH +: WIDTH] = rd_banks;
        end
    end
endgenerate

always @(posedge clk) begin
    if (en) begin
        rd_valid_reg <= issue;
    end
    if (rst) begin
        rd_valid_reg <= 1'b0;
    end
end

// output register slice; its registered ready enables the read pipeline
axis_skid #(.WIDTH(OWIDTH)) out_skid (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata(rd_data),
    .s_axis_tvalid(rd_valid_reg),
    .s_axis_tready(en),
    .m_axis_tdata(m_axis_tdata),
    .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready)
);

endmodule

`default_nettype wire
