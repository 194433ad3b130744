/*
 * label_select: top-K class indices of a classifier's scores.
 *
 * Input: frames of CH scores (IN_BITS bits, signed or unsigned per IN_SIGNED) as CF = CH/PE
 * words of PE consecutive classes (element 0 in the LSBs). Output per frame: K words of
 * IDX_BITS bits, the indices of the K largest scores in descending order of score, ties
 * broken by the lower index first.
 *
 * A sorted list of K (score, index) entries is kept in registers. Each input word inserts its
 * PE scores one after the other (a combinational chain of PE insertion steps; each step
 * compares with all K entries in parallel and shifts the entries below the insertion point);
 * a new score goes after all entries with a score >= it, which, as classes arrive in
 * ascending index order, breaks ties towards the lower index. The first word of a frame
 * starts from an empty list. When the last word of a frame is accepted, the K indices move
 * to an output shift register and the next frame can stream in while they leave; the last
 * word of a frame waits while the previous frame's indices are still leaving.
 *
 * One input word per cycle; a frame takes max(CF, K + 1) cycles when the streams do not
 * stall. The first index is valid 1 cycle after the handshake of the frame's last word.
 * Combinational depth grows with PE (PE compare/mux steps per cycle).
 */

`timescale 1ns / 1ps
`default_nettype none

module label_select #
(
    // number of classes (scores per frame)
    parameter CH = 10,
    // scores per input word (divides CH)
    parameter PE = 2,
    // bits of a score
    parameter IN_BITS = 8,
    // 1: scores are two's complement, 0: unsigned
    parameter IN_SIGNED = 1,
    // number of indices per frame (1..CH)
    parameter K = 3,
    // bits of an output index (2^IDX_BITS >= CH)
    parameter IDX_BITS = 4
)
(
    input  wire                     clk,
    input  wire                     rst,

    // input stream: PE scores of IN_BITS bits
    input  wire [PE*IN_BITS-1:0]    s_axis_tdata,
    input  wire                     s_axis_tvalid,
    output wire                     s_axis_tready,

    // output stream: one class index per word
    output wire [IDX_BITS-1:0]      m_axis_tdata,
    output wire                     m_axis_tvalid,
    input  wire                     m_axis_tready
);

localparam CF = CH / PE;
localparam CFW = CF > 1 ? $clog2(CF) : 1;
localparam CW = $clog2(K + 1);

/* verilator lint_off WIDTHTRUNC */
localparam [CFW-1:0]      CF_LAST = CF - 1;
localparam [CW-1:0]       K_C     = K;
localparam [IDX_BITS-1:0] PE_I    = PE;
/* verilator lint_on WIDTHTRUNC */

// reject illegal parameters at elaboration (the missing module name is the message)
generate
    if (PE < 1 || CH % PE != 0) begin : g_bad_pe
        label_select_parameter_PE_must_divide_CH invalid_parameter ();
    end
    if (K < 1 || K > CH) begin : g_bad_k
        label_select_parameter_K_must_be_1_to_CH invalid_parameter ();
    end
    if (IDX_BITS < 1 || IDX_BITS > 30 || (1 << IDX_BITS) < CH) begin : g_bad_idx
        label_select_parameter_IDX_BITS_too_small_for_CH invalid_parameter ();
    end
    if (IN_BITS < 1) begin : g_bad_bits
        label_select_parameter_IN_BITS_must_be_at_least_1 invalid_parameter ();
    end
endgenerate

// working list, best first: keys (scores as unsigned-comparable numbers), indices, valid
reg [K*IN_BITS-1:0]  key_reg;
reg [K*IDX_BITS-1:0] idx_reg;
reg [K-1:0]          vld_reg;
reg [CFW-1:0]        cg_reg;
wire [IDX_BITS-1:0]  base;       // index of the word's element 0 (cg*PE)

// output shift register
reg [K*IDX_BITS-1:0] out_idx_reg;
reg [CW-1:0]         out_cnt_reg;

wire last_word = (cg_reg == CF_LAST);
wire busy = (out_cnt_reg != {CW{1'b0}});
assign s_axis_tready = !(last_word && busy);
wire accept = s_axis_tvalid && s_axis_tready;

assign m_axis_tdata  = out_idx_reg[IDX_BITS-1:0];
assign m_axis_tvalid = busy;
wire out_take = m_axis_tready && busy;

// the word's first index: with PE a power of two a shift of the word counter (no logic),
// otherwise a register of its own stepped by PE
generate
    if ((PE & (PE - 1)) == 0) begin : g_base_shift
        wire [CFW+IDX_BITS-1:0] cg_wide = {{IDX_BITS{1'b0}}, cg_reg};
        wire [CFW+IDX_BITS-1:0] base_wide = cg_wide << $clog2(PE);
        assign base = base_wide[IDX_BITS-1:0];
    end else begin : g_base_reg
        reg [IDX_BITS-1:0] base_reg;
        always @(posedge clk) begin
            if (accept) begin
                base_reg <= last_word ? {IDX_BITS{1'b0}} : base_reg + PE_I;
            end
            if (rst) begin
                base_reg <= {IDX_BITS{1'b0}};
            end
        end
        assign base = base_reg;
    end
endgenerate

// insertion chain
reg [K*IN_BITS-1:0]  key_n;
reg [K*IDX_BITS-1:0] idx_n;
reg [K-1:0]          vld_n;
reg [K-1:0]          ge;
reg [IN_BITS-1:0]    key_in;
reg [IDX_BITS-1:0]   idx_in;
integer p;
integer i;

always @* begin
    // a frame's first word starts from an empty list: only the valid flags clear (an entry
    // that is not valid compares as smaller than every score and is overwritten or shifted);
    // with one word per frame the list is constant zeros, which synthesis folds away
    key_n = (CF == 1) ? {(K*IN_BITS){1'b0}} : key_reg;
    idx_n = (CF == 1) ? {(K*IDX_BITS){1'b0}} : idx_reg;
    vld_n = (cg_reg == {CFW{1'b0}}) ? {K{1'b0}} : vld_reg;
    idx_in = base;
    for (p = 0; p < PE; p = p + 1) begin
        key_in = s_axis_tdata[p*IN_BITS +: IN_BITS];
        // signed scores: flipping the sign bit makes the unsigned order the signed one
        if (IN_SIGNED != 0) begin
            key_in[IN_BITS-1] = !key_in[IN_BITS-1];
        end
        for (i = 0; i < K; i = i + 1) begin
            ge[i] = vld_n[i] && (key_n[i*IN_BITS +: IN_BITS] >= key_in);
        end
        // entries keep their place above the insertion point, shift down below it
        for (i = K - 1; i >= 0; i = i - 1) begin
            if (!ge[i]) begin
                if (i == 0 || ge[(i > 0) ? i - 1 : 0]) begin
                    key_n[i*IN_BITS +: IN_BITS]   = key_in;
                    idx_n[i*IDX_BITS +: IDX_BITS] = idx_in;
                    vld_n[i] = 1'b1;
                end else begin
                    key_n[i*IN_BITS +: IN_BITS]   = key_n[(i-1)*IN_BITS +: IN_BITS];
                    idx_n[i*IDX_BITS +: IDX_BITS] = idx_n[(i-1)*IDX_BITS +: IDX_BITS];
                    vld_n[i] = vld_n[i-1];
                end
            end
        end
        idx_in = idx_in + 1'b1;
    end
end

always @(posedge clk) begin
    if (accept) begin
        key_reg <= key_n;
        idx_reg <= idx_n;
        vld_reg <= vld_n;
        cg_reg <= last_word ? {CFW{1'b0}} : cg_reg + 1'b1;
    end
    if (accept && last_word) begin
        // busy is low here: the output register is free
        out_idx_reg <= idx_n;
        out_cnt_reg <= K_C;
    end else if (out_take) begin
        out_idx_reg <= out_idx_reg >> IDX_BITS;
        out_cnt_reg <= out_cnt_reg - 1'b1;
    end
    if (rst) begin
        vld_reg     <= {K{1'b0}};
        cg_reg      <= {CFW{1'b0}};
        out_cnt_reg <= {CW{1'b0}};
    end
end

endmodule

`default_nettype wire
