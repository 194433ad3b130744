/*
 * thresholding: streaming multi-threshold activation, PE channels per word.
 *
 * Input words carry PE values of IN_BITS bits (element 0 in the LSBs); channels cycle
 * continuously, word j holding channels (j mod NF)*PE + p, NF = C/PE. Each value becomes
 * out = OUT_BIAS + #{k : in >= T_k} over the N_THRES ascending thresholds of its channel,
 * in OUT_BITS bits; output words carry PE results. Thresholds (T_BITS, two's complement)
 * come from THRES_FILE, line nf holding PE * N_THRES thresholds as in docs/conventions.md
 * (the MVAU threshold layout). A bipolar input is passed as UINT1 (IN_SIGNED = 0).
 *
 * Pipeline (clock-enabled by the ready of an output skid buffer): input register + threshold
 * ROM read, compare/count, skid buffer. One word per cycle; 3 cycles from an input
 * handshake to m_axis_tvalid. s_axis_tready is a register.
 */

`timescale 1ns / 1ps
`default_nettype none

module thresholding #
(
    // number of channels
    parameter C = 8,
    // channels per word (divides C)
    parameter PE = 2,
    // bits of an input value
    parameter IN_BITS = 8,
    // 1: input values are two's complement, 0: unsigned
    parameter IN_SIGNED = 1,
    // bits of a threshold (two's complement)
    parameter T_BITS = 8,
    // thresholds per channel (>= 1)
    parameter N_THRES = 3,
    // bits of an output value (1..32)
    parameter OUT_BITS = 2,
    // integer added to the threshold count
    parameter OUT_BIAS = 0,
    // $readmemh file of the thresholds (C/PE lines of PE*N_THRES*T_BITS bits)
    parameter THRES_FILE = "thresholds.mem",
    // threshold memory implementation: "auto", "block" or "distributed"
    parameter RAM_STYLE = "auto"
)
(
    input  wire                     clk,
    input  wire                     rst,

    // input stream: PE values of IN_BITS bits
    input  wire [PE*IN_BITS-1:0]    s_axis_tdata,
    input  wire                     s_axis_tvalid,
    output wire                     s_axis_tready,

    // output stream: PE values of OUT_BITS bits
    output wire [PE*OUT_BITS-1:0]   m_axis_tdata,
    output wire                     m_axis_tvalid,
    input  wire                     m_axis_tready
);

localparam NF = C / PE;
localparam NFW = NF > 1 ? $clog2(NF) : 1;
localparam TW = PE * N_THRES * T_BITS;
/* verilator lint_off WIDTHTRUNC */
localparam [NFW-1:0] NF_LAST = NF - 1;
/* verilator lint_on WIDTHTRUNC */

// reject illegal parameters at elaboration (the missing module name is the message)
generate
    if (PE < 1 || C % PE != 0) begin : g_bad_pe
        thresholding_parameter_PE_must_divide_C invalid_parameter ();
    end
    if (N_THRES < 1) begin : g_bad_n
        thresholding_parameter_N_THRES_must_be_at_least_1 invalid_parameter ();
    end
    if (IN_BITS < 1 || T_BITS < 1 || OUT_BITS < 1 || OUT_BITS > 32) begin : g_bad_bits
        thresholding_parameters_IN_BITS_T_BITS_OUT_BITS_out_of_range invalid_parameter ();
    end
endgenerate

// pipeline clock enable: the output skid buffer can take a word
wire en;

reg [NFW-1:0] nf_reg;
wire          accept = en && s_axis_tvalid;
assign s_axis_tready = en;

always @(posedge clk) begin
    if (accept) begin
        nf_reg <= (nf_reg == NF_LAST) ? {NFW{1'b0}} : nf_reg + 1'b1;
    end
    if (rst) begin
        nf_reg <= {NFW{1'b0}};
    end
end

// stage 1: input word and the thresholds of its channels
reg [PE*IN_BITS-1:0] x1_reg;
reg                  v1_reg;
wire [TW-1:0]        thr1;

rom_sync #(
    .WIDTH(TW),
    .DEPTH(NF),
    .INIT_FILE(THRES_FILE),
    .RAM_STYLE(RAM_STYLE),
    .AW(NFW)
) thres_rom (
    .clk(clk),
    .en(en),
    .addr(nf_reg),
    .data(thr1)
);

always @(posedge clk) begin
    if (en) begin
        x1_reg <= s_axis_tdata;
        v1_reg <= s_axis_tvalid;
    end
    if (rst) begin
        v1_reg <= 1'b0;
    end
end

// stage 2: compare and count
wire [PE*OUT_BITS-1:0] y1;
reg  [PE*OUT_BITS-1:0] y2_reg;
reg                    v2_reg;

genvar p;
generate
    for (p = 0; p < PE; p = p + 1) begin : pe
        mt_count #(
            .V_BITS(IN_BITS),
            .V_SIGNED(IN_SIGNED),
            .T_BITS(T_BITS),
            .N_THRES(N_THRES),
            .OUT_BITS(OUT_BITS),
            .OUT_BIAS(OUT_BIAS)
        ) act (
            .value(x1_reg[p*IN_BITS +: IN_BITS]),
            .thresholds(thr1[p*N_THRES*T_BITS +: N_THRES*T_BITS]),
            .out(y1[p*OUT_BITS +: OUT_BITS])
        );
    end
endgenerate

always @(posedge clk) begin
    if (en) begin
        y2_reg <= y1;
        v2_reg <= v1_reg;
    end
    if (rst) begin
        v2_reg <= 1'b0;
    end
end

// output register slice; its registered ready enables the pipeline
axis_skid #(.WIDTH(PE*OUT_BITS)) out_skid (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata(y2_reg),
    .s_axis_tvalid(v2_reg),
    .s_axis_tready(en),
    .m_axis_tdata(m_axis_tdata),
    .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready)
);

endmodule

`default_nettype wire
