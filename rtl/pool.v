/*
 * pool: max or sum over windows from sliding_window's output order.
 *
 * For each output pixel the input carries K window elements (K = K_H*K_W of the sliding
 * window) of CH channels: K*CF words, CF = CH/PE, window position outer and channel group
 * inner; a word holds PE consecutive channels of IN_BITS bits (element 0 in the LSBs). After
 * the last window position, CF words of PE results of OUT_BITS bits leave: per channel the
 * maximum (MODE 0; signed or unsigned compare per IN_SIGNED; a BIPOLAR stream is passed as
 * IN_BITS = 1, IN_SIGNED = 0, where max is OR) or the sum (MODE 1, modulo 2^OUT_BITS). Inputs
 * are sign- (IN_SIGNED = 1) or zero-extended to OUT_BITS bits first.
 *
 * The partial results of the CF channel groups live in a small memory (CF words of
 * PE*OUT_BITS bits; one write, one registered read port) with a bypass for the word written
 * in the same cycle (CF = 1). Pipeline, clock-enabled by the output skid buffer's registered
 * ready: input register + partial read -> combine, write back / output -> skid buffer.
 * One input word per cycle; an output word can be accepted 2 cycles after the handshake of
 * the last input word it depends on. global_acc_pool is this module with MODE 1, K = N_PIX.
 */

`timescale 1ns / 1ps
`default_nettype none

module pool #
(
    // channels
    parameter CH = 4,
    // channels per word (divides CH; the sliding window's SIMD)
    parameter PE = 2,
    // elements per window (K_H*K_W), >= 1
    parameter K = 4,
    // bits of an input element
    parameter IN_BITS = 4,
    // 1: input elements are two's complement, 0: unsigned
    parameter IN_SIGNED = 1,
    // bits of an output element (>= IN_BITS)
    parameter OUT_BITS = 4,
    // 0: maximum, 1: sum
    parameter MODE = 0
)
(
    input  wire                     clk,
    input  wire                     rst,

    // input stream: PE elements of IN_BITS bits
    input  wire [PE*IN_BITS-1:0]    s_axis_tdata,
    input  wire                     s_axis_tvalid,
    output wire                     s_axis_tready,

    // output stream: PE elements of OUT_BITS bits
    output wire [PE*OUT_BITS-1:0]   m_axis_tdata,
    output wire                     m_axis_tvalid,
    input  wire                     m_axis_tready
);

localparam CF = CH / PE;
localparam CFW = CF > 1 ? $clog2(CF) : 1;
localparam KW = K > 1 ? $clog2(K) : 1;
localparam IW = PE * IN_BITS;
localparam OWD = PE * OUT_BITS;

/* verilator lint_off WIDTHTRUNC */
localparam [CFW-1:0] CF_LAST = CF - 1;
localparam [KW-1:0]  K_LAST  = K - 1;
/* verilator lint_on WIDTHTRUNC */

// reject illegal parameters at elaboration (the missing module name is the message)
generate
    if (PE < 1 || CH % PE != 0) begin : g_bad_pe
        pool_parameter_PE_must_divide_CH invalid_parameter ();
    end
    if (K < 1) begin : g_bad_k
        pool_parameter_K_must_be_at_least_1 invalid_parameter ();
    end
    if (IN_BITS < 1 || OUT_BITS < IN_BITS) begin : g_bad_bits
        pool_parameters_IN_BITS_at_least_1_and_OUT_BITS_at_least_IN_BITS invalid_parameter ();
    end
    if (MODE != 0 && MODE != 1) begin : g_bad_mode
        pool_parameter_MODE_must_be_0_max_or_1_sum invalid_parameter ();
    end
endgenerate

// pipeline clock enable: the output skid buffer can take a word
wire en;

reg [CFW-1:0] cg_reg;
reg [KW-1:0]  k_reg;
wire          accept = en && s_axis_tvalid;

assign s_axis_tready = en;

always @(posedge clk) begin
    if (accept) begin
        if (cg_reg == CF_LAST) begin
            cg_reg <= {CFW{1'b0}};
            k_reg  <= (k_reg == K_LAST) ? {KW{1'b0}} : k_reg + 1'b1;
        end else begin
            cg_reg <= cg_reg + 1'b1;
        end
    end
    if (rst) begin
        cg_reg <= {CFW{1'b0}};
        k_reg  <= {KW{1'b0}};
    end
end

// stage 1: input word, position flags, partial result of its channel group
reg [IW-1:0]  x1_reg;
reg           v1_reg;
reg           first1_reg;
reg           last1_reg;
reg [CFW-1:0] cg1_reg;
reg [OWD-1:0] rd1_reg;      // memory word read for cg_reg
reg           fwd1_reg;     // rd1_reg is stale: the word was written in the same cycle
reg [OWD-1:0] fwd1_data_reg;

wire [OWD-1:0] acc1 = fwd1_reg ? fwd1_data_reg : rd1_reg;
wire [OWD-1:0] new1;
wire           wr = en && v1_reg;

(* ram_style = "distributed" *) reg [OWD-1:0] part_mem [0:CF-1];

always @(posedge clk) begin
    if (wr) begin
        part_mem[cg1_reg] <= new1;
    end
    if (en) begin
        rd1_reg <= part_mem[cg_reg];
    end
end

always @(posedge clk) begin
    if (en) begin
        x1_reg        <= s_axis_tdata;
        v1_reg        <= s_axis_tvalid;
        first1_reg    <= (k_reg == {KW{1'b0}});
        last1_reg     <= (k_reg == K_LAST);
        cg1_reg       <= cg_reg;
        fwd1_reg      <= wr && (cg1_reg == cg_reg);
        fwd1_data_reg <= new1;
    end
    if (rst) begin
        v1_reg   <= 1'b0;
        fwd1_reg <= 1'b0;
    end
end

// combine per element
genvar p;
generate
    for (p = 0; p < PE; p = p + 1) begin : pe
        wire [OUT_BITS-1:0] xe;
        wire [OUT_BITS-1:0] a = acc1[p*OUT_BITS +: OUT_BITS];
        reg  [OUT_BITS-1:0] y;
        wire [IN_BITS-1:0]  xv = x1_reg[p*IN_BITS +: IN_BITS];
        if (OUT_BITS == IN_BITS) begin : g_same
            assign xe = xv;
        end else begin : g_ext
            // sign bit per IN_SIGNED
            wire ext = (IN_SIGNED != 0) && xv[IN_BITS-1];
            assign xe = {{(OUT_BITS-IN_BITS){ext}}, xv};
        end
        always @* begin
            if (first1_reg) begin
                y = xe;
            end else if (MODE == 1) begin
                y = a + xe;
            end else if (IN_SIGNED != 0) begin
                y = ($signed(a) > $signed(xe)) ? a : xe;
            end else begin
                y = (a > xe) ? a : xe;
            end
        end
        assign new1[p*OUT_BITS +: OUT_BITS] = y;
    end
endgenerate

// output register slice; its registered ready enables the pipeline
axis_skid #(.WIDTH(OWD)) out_skid (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata(new1),
    .s_axis_tvalid(v1_reg && last1_reg),
    .s_axis_tready(en),
    .m_axis_tdata(m_axis_tdata),
    .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready)
);

endmodule

`default_nettype wire
