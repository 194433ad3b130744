/*
 * mvau: streaming matrix-vector-activation unit (one folded fully-connected / conv layer).
 *
 * y = act(W x) for MH x MW weights W: each input vector arrives as SF = MW/SIMD words of SIMD
 * elements, each output vector leaves as NF = MH/PE words of PE elements (element 0 in the
 * LSBs, docs/conventions.md). For nf in 0..NF-1, sf in 0..SF-1 the unit multiplies SIMD
 * inputs with the SIMD weights of each of its PE neurons (weight memory line nf*SF + sf) and
 * accumulates; at sf = SF-1 it emits PE outputs: OUT_BIAS + #{k : acc >= T_k} over the
 * N_THRES ascending thresholds of channel nf*PE + p (thresholds line nf), or the raw
 * ACC_BITS accumulator when N_THRES = 0.
 *
 * Arithmetic: BIPOLAR x BIPOLAR is XNOR-popcount (acc in [0, MW]); with one BIPOLAR operand
 * the other is added (bit 1) or subtracted (bit 0); otherwise signed/unsigned products.
 * Sums are two's complement in ACC_BITS bits. The SIMD products of a PE are summed by a
 * binary adder tree.
 *
 * Grouped MVAU (MULT_BITS > 0; SYQ per-kernel-pixel weight scales): the MW columns form
 * GROUPS groups of GROUP_SIZE = MW/GROUPS consecutive columns, and output channel o has an
 * unsigned multiplier m[o, g] per group g: acc[o] = sum_g m[o, g] * sum_{k in g} w[o,k] x[k].
 * SIMD divides GROUP_SIZE, so each step (nf, sf) lies in group g = sf / (GROUP_SIZE/SIMD);
 * its SIMD-lane dot product (adder tree; for XNOR the signed +-1 sum 2*popcount - SIMD) is
 * multiplied by m[nf*PE + p, g] (one multiplier per PE, MULT_FILE line nf*GROUPS + g) and
 * accumulated. The accumulator is then signed also in XNOR mode. Same schedule, NF*SF cycles
 * per vector, and the same latency (the product is taken in the accumulate stage, as a
 * multiply-accumulate). MULT_BITS = 0 (default) is the plain MVAU above.
 *
 * Input (NF > 1): a writer accepts stream words into a double buffer of 2*SF words (two banks
 * of SF words, vector v in bank v mod 2) whenever the bank it fills is free, independently of
 * the compute schedule: it fills the next vector's bank while the current vector is computed
 * and waits only when both banks hold vectors not yet finished. The compute side runs all NF
 * folds of a vector from its bank, releasing the bank after the last step; its nf = 0 pass
 * may run on a bank that is still being filled, one step per word already written, and the
 * step of the word being written in this very cycle takes it straight from the stream
 * (bypass), so a waiting compute side loses no cycle. Steps issue back to back whenever their
 * word is available: a vector takes max(NF*SF, arrival time of its SF input words) cycles,
 * exactly NF*SF when the streams do not stall. NF = 1 needs no buffer: each step takes its
 * word straight from the stream (s_axis_tready is the pipeline enable).
 * Pipeline (all stages clock-enabled by the registered ready of the output skid buffer, so
 * back-pressure stalls the compute side while the writer keeps filling a free bank;
 * s_axis_tready comes from registers only - a bank-full flag, or the skid ready when NF = 1 -
 * so it has no combinational path from m_axis_tready or s_axis_tvalid):
 *   issue (counters) -> 1: input/buffer word, weight ROM read -> 2: products + adder tree
 *   -> 3: accumulator, threshold ROM read -> 4: thresholds -> skid buffer (m_axis).
 * Latency: an output word is valid 4 cycles after the rising edge that issued the last step of
 * its fold, i.e. it can be accepted 5 cycles after that edge; when the compute side is waiting
 * for input this is the handshake of the fold's last input word (bypass), as without buffer.
 *
 * External weights (RAM_STYLE = "external"): no weight ROM; the weights arrive on s_wgt, one
 * memory line per step in the order the ROM would be read (lines 0..NF*SF-1 once per input
 * vector), and a step issues only when its weight word is there too (s_wgt_tready is high
 * when the step would issue, so it may depend on s_axis_tvalid, not on s_wgt_tvalid). Otherwise
 * s_wgt is unused (tie s_wgt_tvalid low; s_wgt_tready stays low). The weight memory of every
 * style is rtl/weight_mem.v.
 *
 * UltraRAM weights (RAM_STYLE = "ultra"): the weight memory is a RAM in URAM (UltraScale+ URAM
 * has no bitstream initialisation), written from s_wgt: every s_wgt word (always accepted,
 * s_wgt_tready = 1) is written to the next line, lines 0..NF*SF-1 and then 0 again. The kernel
 * loads all lines once before the first run (docs/kernel.md "Weights in UltraRAM"); the steps
 * then read it exactly like the ROM. Do not stream while vectors are computed.
 */

`timescale 1ns / 1ps
`default_nettype none

module mvau #
(
    // input features (matrix width)
    parameter MW = 16,
    // output features (matrix height)
    parameter MH = 8,
    // input elements per input word (divides MW)
    parameter SIMD = 4,
    // output elements per output word (divides MH)
    parameter PE = 2,
    // bits of an input element
    parameter IN_BITS = 4,
    // 1: input elements are two's complement, 0: unsigned
    parameter IN_SIGNED = 1,
    // 1: input elements are BIPOLAR (IN_BITS = 1; bit 0 = -1, bit 1 = +1)
    parameter IN_BIPOLAR = 0,
    // bits of a weight
    parameter W_BITS = 4,
    // 1: weights are two's complement, 0: unsigned
    parameter W_SIGNED = 1,
    // 1: weights are BIPOLAR (W_BITS = 1)
    parameter W_BIPOLAR = 0,
    // accumulator width (two's complement); also the width of a threshold
    parameter ACC_BITS = 16,
    // thresholds per output channel; 0: no activation, output the accumulator
    parameter N_THRES = 3,
    // bits of an output element (ACC_BITS when N_THRES = 0; 1..32 otherwise)
    parameter OUT_BITS = 2,
    // integer added to the threshold count
    parameter OUT_BIAS = 0,
    // $readmemh file of the weights: NF*SF lines of PE*SIMD*W_BITS bits
    parameter WEIGHT_FILE = "weights.mem",
    // $readmemh file of the thresholds: NF lines of PE*N_THRES*ACC_BITS bits
    parameter THRES_FILE = "thresholds.mem",
    // weight memory implementation: "auto", "block" or "distributed"; "external": no weight
    // memory, the weight words stream in on s_wgt; "ultra": a URAM loaded from s_wgt (above)
    parameter RAM_STYLE = "auto",
    // 1: the weights are the constant WEIGHT_CONST instead of WEIGHT_FILE (NF*SF = 1 and a
    // ROM style: a fully unrolled layer; rtl/weight_mem.v)
    parameter CONST_W = 0,
    parameter [PE*SIMD*W_BITS-1:0] WEIGHT_CONST = {PE*SIMD*W_BITS{1'b0}},
    // bits of an unsigned group multiplier; 0: no multipliers (plain MVAU)
    parameter MULT_BITS = 0,
    // column groups with one multiplier per output channel each (divides MW; 1 when
    // MULT_BITS = 0); a group is MW/GROUPS consecutive columns and SIMD divides MW/GROUPS
    parameter GROUPS = 1,
    // $readmemh file of the multipliers: NF*GROUPS lines of PE*MULT_BITS bits (unused if
    // MULT_BITS = 0)
    parameter MULT_FILE = "mults.mem"
)
(
    input  wire                     clk,
    input  wire                     rst,

    // input stream: SIMD elements of IN_BITS bits
    input  wire [SIMD*IN_BITS-1:0]  s_axis_tdata,
    input  wire                     s_axis_tvalid,
    output wire                     s_axis_tready,

    // output stream: PE elements of OUT_BITS bits
    output wire [PE*OUT_BITS-1:0]   m_axis_tdata,
    output wire                     m_axis_tvalid,
    input  wire                     m_axis_tready,

    // weight stream (RAM_STYLE = "external" only): PE*SIMD weights, weight memory layout
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [PE*SIMD*W_BITS-1:0] s_wgt_tdata,
    input  wire                     s_wgt_tvalid,
    /* verilator lint_on UNUSEDSIGNAL */
    output wire                     s_wgt_tready
);

localparam SF = MW / SIMD;
localparam NF = MH / PE;
localparam SFW = SF > 1 ? $clog2(SF) : 1;
localparam NFW = NF > 1 ? $clog2(NF) : 1;
localparam WAW = NF * SF > 1 ? $clog2(NF * SF) : 1;
localparam IW = SIMD * IN_BITS;
localparam WW = PE * SIMD * W_BITS;

// product of one input element and one weight: width and signedness
localparam XNOR = (IN_BIPOLAR != 0) && (W_BIPOLAR != 0);
localparam XE = IN_BITS + (IN_SIGNED != 0 ? 0 : 1);   // input as a signed number
localparam WE = W_BITS + (W_SIGNED != 0 ? 0 : 1);     // weight as a signed number
// (+-w needs one bit more than w: -(2^(W-1)) for signed w, -(2^W - 1) for unsigned w)
localparam P_BITS = XNOR ? 1 :
                    (IN_BIPOLAR != 0) ? W_BITS + 1 :
                    (W_BIPOLAR != 0) ? IN_BITS + 1 : XE + WE;
localparam P_SIGNED = XNOR ? 0 : 1;
localparam SUM_BITS = P_BITS + $clog2(SIMD);

// grouped MVAU: a step's signed dot product (DOT_BITS) times an unsigned multiplier
localparam GROUPED = MULT_BITS > 0;
localparam GSIZE = (GROUPS > 0) ? MW / GROUPS : MW;
localparam SPG = GSIZE / SIMD;                    // steps per group
localparam DOT_BITS = GROUPED ? (XNOR ? SUM_BITS + 1 : SUM_BITS) : ACC_BITS;
localparam MB = GROUPED ? MULT_BITS : 1;
localparam GP_BITS = DOT_BITS + MB + 1;           // signed product width

/* verilator lint_off WIDTHTRUNC */
localparam [SFW-1:0] SF_LAST = SF - 1;
localparam [NFW-1:0] NF_LAST = NF - 1;
/* verilator lint_on WIDTHTRUNC */

// reject illegal parameters at elaboration (the missing module name is the message)
generate
    if (SIMD < 1 || MW % SIMD != 0) begin : g_bad_simd
        mvau_parameter_SIMD_must_divide_MW invalid_parameter ();
    end
    if (PE < 1 || MH % PE != 0) begin : g_bad_pe
        mvau_parameter_PE_must_divide_MH invalid_parameter ();
    end
    if (IN_BIPOLAR != 0 && IN_BITS != 1) begin : g_bad_in_bipolar
        mvau_parameter_IN_BIPOLAR_needs_IN_BITS_1 invalid_parameter ();
    end
    if (W_BIPOLAR != 0 && W_BITS != 1) begin : g_bad_w_bipolar
        mvau_parameter_W_BIPOLAR_needs_W_BITS_1 invalid_parameter ();
    end
    if (N_THRES == 0 && OUT_BITS != ACC_BITS) begin : g_bad_out_bits
        mvau_parameter_OUT_BITS_must_equal_ACC_BITS_without_thresholds invalid_parameter ();
    end
    if (N_THRES < 0 || (N_THRES > 0 && (OUT_BITS < 1 || OUT_BITS > 32))) begin : g_bad_thres
        mvau_parameters_N_THRES_or_OUT_BITS_out_of_range invalid_parameter ();
    end
    if (IN_BITS < 1 || W_BITS < 1 || ACC_BITS < 2) begin : g_bad_bits
        mvau_parameters_IN_BITS_W_BITS_ACC_BITS_out_of_range invalid_parameter ();
    end
    if (MULT_BITS < 0 || MULT_BITS > 32 || (MULT_BITS == 0 && GROUPS != 1)) begin : g_bad_mult
        mvau_parameter_MULT_BITS_out_of_range_or_GROUPS_without_MULT_BITS invalid_parameter ();
    end
    if (MULT_BITS > 0 && (GROUPS < 1 || MW % GROUPS != 0 || GSIZE % SIMD != 0))
    begin : g_bad_groups
        mvau_parameter_GROUPS_must_divide_MW_and_SIMD_the_group_size invalid_parameter ();
    end
endgenerate

// ------------------------------------------------------------------------------------------
// issue: which (nf, sf) step enters the pipeline this cycle
// ------------------------------------------------------------------------------------------

// pipeline clock enable: the output skid buffer can take a word
wire en;

reg [SFW-1:0] sf_reg;
reg [NFW-1:0] nf_reg;

// this step takes its input word straight from the stream (else from the input buffer)
wire from_stream;
// the step's weight word is available (always, except for external weights)
wire wgt_ok;
// a step issues when its input word is available (needed only from the stream)
wire issue = en && (!from_stream || s_axis_tvalid) && wgt_ok;

always @(posedge clk) begin
    if (issue) begin
        if (sf_reg == SF_LAST) begin
            sf_reg <= {SFW{1'b0}};
            nf_reg <= (nf_reg == NF_LAST) ? {NFW{1'b0}} : nf_reg + 1'b1;
        end else begin
            sf_reg <= sf_reg + 1'b1;
        end
    end
    if (rst) begin
        sf_reg <= {SFW{1'b0}};
        nf_reg <= {NFW{1'b0}};
    end
end

// ------------------------------------------------------------------------------------------
// stage 1: input word (stream or buffer) and weights
// ------------------------------------------------------------------------------------------

reg           v1_reg;
reg           first1_reg;
reg           last1_reg;
reg [NFW-1:0] nf1_reg;
reg [IW-1:0]  xs1_reg;   // word from the stream
wire [IW-1:0] x1;
wire [WW-1:0] w1;

always @(posedge clk) begin
    if (en) begin
        v1_reg     <= issue;
        first1_reg <= (sf_reg == {SFW{1'b0}});
        last1_reg  <= (sf_reg == SF_LAST);
        nf1_reg    <= nf_reg;
        xs1_reg    <= s_axis_tdata;
    end
    if (rst) begin
        v1_reg <= 1'b0;
    end
end

generate
    if (NF > 1) begin : g_buffer
        // double input buffer: banks of SF words at 0 and SF, vector v in bank v mod 2
        localparam BD = 2 * SF;
        localparam BAW = $clog2(BD);
        /* verilator lint_off WIDTHTRUNC */
        localparam [BAW-1:0] BA_LAST = BD - 1;
        localparam [BAW-1:0] BA_REWIND = SF - 1;
        /* verilator lint_on WIDTHTRUNC */

        reg [IW-1:0]  ibuf [0:BD-1];
        reg [IW-1:0]  xb1_reg;
        reg           sel_stream1_reg;

        // writer: bank and word being filled (address bank*SF + sf)
        reg           wbank_reg;
        reg [SFW-1:0] wsf_reg;
        reg [BAW-1:0] waddr_reg;
        // full_reg[b]: bank b holds a complete vector not yet released by the compute side
        reg [1:0]     full_reg;
        // compute side: bank of the current vector, read address bank*SF + sf_reg
        reg           rbank_reg;
        reg [BAW-1:0] raddr_reg;

        // the writer waits only while its bank still holds a vector (both banks busy)
        assign s_axis_tready = !full_reg[wbank_reg];
        wire write = s_axis_tvalid && !full_reg[wbank_reg];
        wire write_last = write && (wsf_reg == SF_LAST);
        wire issue_last = issue && (sf_reg == SF_LAST) && (nf_reg == NF_LAST);

        // A bank that is not full is the one being filled, and the compute side is never
        // ahead of the writer on it: during nf = 0 word sf is in the buffer when the bank is
        // full or wsf > sf, else (wsf == sf) it is the word on the stream now. In later folds
        // the bank is full (nf = 0 consumed every word).
        assign from_stream = (nf_reg == {NFW{1'b0}}) && !full_reg[rbank_reg] &&
                             (wsf_reg == sf_reg);

        always @(posedge clk) begin
            if (write) begin
                ibuf[waddr_reg] <= s_axis_tdata;
            end
            if (en) begin
                xb1_reg <= ibuf[raddr_reg];
            end
        end

        always @(posedge clk) begin
            if (en) begin
                sel_stream1_reg <= from_stream;
            end
            if (write) begin
                waddr_reg <= (waddr_reg == BA_LAST) ? {BAW{1'b0}} : waddr_reg + 1'b1;
                if (wsf_reg == SF_LAST) begin
                    wsf_reg   <= {SFW{1'b0}};
                    wbank_reg <= !wbank_reg;
                end else begin
                    wsf_reg <= wsf_reg + 1'b1;
                end
            end
            if (issue) begin
                // next word, next bank after the last step, else back to the bank's word 0
                if (sf_reg == SF_LAST && nf_reg != NF_LAST) begin
                    raddr_reg <= raddr_reg - BA_REWIND;
                end else begin
                    raddr_reg <= (raddr_reg == BA_LAST) ? {BAW{1'b0}} : raddr_reg + 1'b1;
                end
            end
            if (issue_last) begin
                rbank_reg <= !rbank_reg;
            end
            // never the same bank: a bank is full from its last write until its last step
            if (write_last) begin
                full_reg[wbank_reg] <= 1'b1;
            end
            if (issue_last) begin
                full_reg[rbank_reg] <= 1'b0;
            end
            if (rst) begin
                wbank_reg <= 1'b0;
                wsf_reg   <= {SFW{1'b0}};
                waddr_reg <= {BAW{1'b0}};
                full_reg  <= 2'b00;
                rbank_reg <= 1'b0;
                raddr_reg <= {BAW{1'b0}};
            end
        end
        assign x1 = sel_stream1_reg ? xs1_reg : xb1_reg;
    end else begin : g_no_buffer
        // one fold: every step takes its word from the stream
        assign from_stream = 1'b1;
        assign s_axis_tready = en && wgt_ok;
        assign x1 = xs1_reg;
    end
endgenerate

// weight memory (ROM, URAM loaded from s_wgt, or the external stream s_wgt): the line of
// the step issued in the previous enabled cycle
weight_mem #(
    .WIDTH(WW),
    .DEPTH(NF * SF),
    .INIT_FILE(WEIGHT_FILE),
    .RAM_STYLE(RAM_STYLE),
    .CONST(CONST_W),
    .CONST_LINE(WEIGHT_CONST),
    .AW(WAW)
) weights (
    .clk(clk),
    .rst(rst),
    .en(en),
    .step(en && (!from_stream || s_axis_tvalid)),
    .ok(wgt_ok),
    .data(w1),
    .s_wgt_tdata(s_wgt_tdata),
    .s_wgt_tvalid(s_wgt_tvalid),
    .s_wgt_tready(s_wgt_tready)
);

// group multipliers (grouped MVAU): read like the weights, registered once more in stage 2
/* verilator lint_off UNUSEDSIGNAL */
wire [PE*MB-1:0] mult2;
/* verilator lint_on UNUSEDSIGNAL */

generate
    if (GROUPED) begin : g_mult_rom
        localparam MD = NF * GROUPS;
        localparam MAW = MD > 1 ? $clog2(MD) : 1;
        localparam SPW = SPG > 1 ? $clog2(SPG) : 1;
        /* verilator lint_off WIDTHTRUNC */
        localparam [MAW-1:0] MA_LAST = MD - 1;
        localparam [SPW-1:0] SP_LAST = SPG - 1;
        /* verilator lint_on WIDTHTRUNC */
        // multiplier line nf*GROUPS + g of the step being issued, and the step in its group
        reg [MAW-1:0]  ma_reg;
        reg [SPW-1:0]  sp_reg;
        wire [PE*MB-1:0] mult1;
        reg [PE*MB-1:0]  mult2_reg;

        always @(posedge clk) begin
            if (issue) begin
                if (sp_reg == SP_LAST) begin
                    sp_reg <= {SPW{1'b0}};
                    ma_reg <= (ma_reg == MA_LAST) ? {MAW{1'b0}} : ma_reg + 1'b1;
                end else begin
                    sp_reg <= sp_reg + 1'b1;
                end
            end
            if (en) begin
                mult2_reg <= mult1;
            end
            if (rst) begin
                ma_reg <= {MAW{1'b0}};
                sp_reg <= {SPW{1'b0}};
            end
        end

        rom_sync #(
            .WIDTH(PE * MB),
            .DEPTH(MD),
            .INIT_FILE(MULT_FILE),
            .RAM_STYLE("auto"),
            .AW(MAW)
        ) mult_rom (
            .clk(clk),
            .en(en),
            .addr(ma_reg),
            .data(mult1)
        );
        assign mult2 = mult2_reg;
    end else begin : g_no_mult_rom
        assign mult2 = {PE*MB{1'b0}};
    end
endgenerate

// ------------------------------------------------------------------------------------------
// stage 2: SIMD products per PE, summed by an adder tree
// ------------------------------------------------------------------------------------------

reg           v2_reg;
reg           first2_reg;
reg           last2_reg;
reg [NFW-1:0] nf2_reg;
reg [PE*DOT_BITS-1:0] dot2_reg;
wire [PE*DOT_BITS-1:0] dot1;

genvar p, s;
generate
    for (p = 0; p < PE; p = p + 1) begin : pe
        wire [SIMD*P_BITS-1:0] prods;
        wire [SUM_BITS-1:0]    sum;
        if (XNOR) begin : g_xnor
            // one XNOR gate per lane, written as one vector operation (P_BITS = IN_BITS =
            // W_BITS = 1): simulators evaluate it word by word instead of bit by bit
            assign prods = ~(x1 ^ w1[p*SIMD +: SIMD]);
        end
        for (s = 0; s < SIMD && !XNOR; s = s + 1) begin : simd
            wire [IN_BITS-1:0] x = x1[s*IN_BITS +: IN_BITS];
            wire [W_BITS-1:0]  w = w1[(p*SIMD + s)*W_BITS +: W_BITS];
            wire [P_BITS-1:0]  prod;
            if (IN_BIPOLAR != 0) begin : g_in_bipolar
                // +w for bit 1, -w for bit 0
                wire [P_BITS-1:0] wv;
                if (W_SIGNED != 0) begin : g_ws
                    assign wv = {w[W_BITS-1], w};
                end else begin : g_wu
                    assign wv = {1'b0, w};
                end
                assign prod = x[0] ? wv : (~wv + 1'b1);
            end else if (W_BIPOLAR != 0) begin : g_w_bipolar
                // +x for bit 1, -x for bit 0
                wire [P_BITS-1:0] xv;
                if (IN_SIGNED != 0) begin : g_xs
                    assign xv = {x[IN_BITS-1], x};
                end else begin : g_xu
                    assign xv = {1'b0, x};
                end
                assign prod = w[0] ? xv : (~xv + 1'b1);
            end else begin : g_mul
                wire [XE-1:0] xv;
                wire [WE-1:0] wv;
                if (IN_SIGNED != 0) begin : g_xs
                    assign xv = x;
                end else begin : g_xu
                    assign xv = {1'b0, x};
                end
                if (W_SIGNED != 0) begin : g_ws
                    assign wv = w;
                end else begin : g_wu
                    assign wv = {1'b0, w};
                end
                wire signed [P_BITS-1:0] m = $signed(xv) * $signed(wv);
                assign prod = m;
            end
            assign prods[s*P_BITS +: P_BITS] = prod;
        end

        adder_tree #(
            .N(SIMD),
            .IN_W(P_BITS),
            .SIGNED(P_SIGNED),
            .OUT_W(SUM_BITS)
        ) tree (
            .operands(prods),
            .sum(sum)
        );

        if (GROUPED) begin : g_gdot
            // the step's signed dot product, multiplied in stage 3
            if (XNOR) begin : g_signed_pop
                // sum of +-1 products = 2*popcount - SIMD
                /* verilator lint_off WIDTHTRUNC */
                localparam [DOT_BITS-1:0] SIMD_D = SIMD;
                /* verilator lint_on WIDTHTRUNC */
                assign dot1[p*DOT_BITS +: DOT_BITS] = {sum, 1'b0} - SIMD_D;
            end else begin : g_sum
                assign dot1[p*DOT_BITS +: DOT_BITS] = sum;
            end
        end else if (SUM_BITS >= ACC_BITS) begin : g_trunc
            /* verilator lint_off UNUSEDSIGNAL */
            wire [SUM_BITS-1:0] sum_all = sum;
            /* verilator lint_on UNUSEDSIGNAL */
            assign dot1[p*DOT_BITS +: DOT_BITS] = sum_all[ACC_BITS-1:0];
        end else begin : g_extend
            wire msb = (P_SIGNED != 0) ? sum[SUM_BITS-1] : 1'b0;
            assign dot1[p*DOT_BITS +: DOT_BITS] = {{(ACC_BITS-SUM_BITS){msb}}, sum};
        end
    end
endgenerate

always @(posedge clk) begin
    if (en) begin
        v2_reg     <= v1_reg;
        first2_reg <= first1_reg;
        last2_reg  <= last1_reg;
        nf2_reg    <= nf1_reg;
        dot2_reg   <= dot1;
    end
    if (rst) begin
        v2_reg <= 1'b0;
    end
end

// ------------------------------------------------------------------------------------------
// stage 3: accumulate over the SF steps of a fold
// ------------------------------------------------------------------------------------------

reg                   v3_reg;   // acc3 holds a complete fold
reg [PE*ACC_BITS-1:0] acc3_reg;
// what a step adds to the accumulator: the dot product, or (grouped) dot x multiplier
wire [PE*ACC_BITS-1:0] add2;

generate
    if (GROUPED) begin : g_mult
        for (p = 0; p < PE; p = p + 1) begin : pe_mult
            wire signed [DOT_BITS-1:0] d = dot2_reg[p*DOT_BITS +: DOT_BITS];
            wire signed [MB:0]         m = {1'b0, mult2[p*MB +: MB]};
            wire signed [GP_BITS-1:0]  prod = d * m;
            // to ACC_BITS: sign-extend or keep the low bits (two's complement wrap)
            if (GP_BITS >= ACC_BITS) begin : g_trunc
                /* verilator lint_off UNUSEDSIGNAL */
                wire [GP_BITS-1:0] prod_all = prod;
                /* verilator lint_on UNUSEDSIGNAL */
                assign add2[p*ACC_BITS +: ACC_BITS] = prod_all[ACC_BITS-1:0];
            end else begin : g_extend
                assign add2[p*ACC_BITS +: ACC_BITS] =
                    {{(ACC_BITS-GP_BITS){prod[GP_BITS-1]}}, prod};
            end
        end
    end else begin : g_no_mult
        assign add2 = dot2_reg;
    end
    for (p = 0; p < PE; p = p + 1) begin : acc
        always @(posedge clk) begin
            if (en && v2_reg) begin
                acc3_reg[p*ACC_BITS +: ACC_BITS] <=
                    (first2_reg ? {ACC_BITS{1'b0}} : acc3_reg[p*ACC_BITS +: ACC_BITS])
                    + add2[p*ACC_BITS +: ACC_BITS];
            end
        end
    end
endgenerate

always @(posedge clk) begin
    if (en) begin
        v3_reg <= v2_reg && last2_reg;
    end
    if (rst) begin
        v3_reg <= 1'b0;
    end
end

// ------------------------------------------------------------------------------------------
// stage 4: activation (thresholds) or raw accumulator
// ------------------------------------------------------------------------------------------

act_out #(
    .PE(PE),
    .ACC_BITS(ACC_BITS),
    .N_THRES(N_THRES),
    .OUT_BITS(OUT_BITS),
    .OUT_BIAS(OUT_BIAS),
    .DEPTH(NF),
    .AW(NFW),
    .THRES_FILE(THRES_FILE)
) act (
    .clk(clk),
    .rst(rst),
    .en(en),
    .addr(nf2_reg),
    .acc(acc3_reg),
    .in_valid(v3_reg),
    .m_axis_tdata(m_axis_tdata),
    .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready)
);

endmodule

`default_nettype wire
