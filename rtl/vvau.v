/*
 * vvau: streaming vector-vector-activation unit (depthwise convolution, one filter per channel).
 *
 * Sits after a sliding_window whose SIMD equals PE. For each output pixel the input carries
 * K window elements (K = K_H*K_W) of CH channels: K*CF words, CF = CH/PE, window position kpos
 * outer and channel group cg inner; a word holds the PE channels cg*PE + p (element 0 in the
 * LSBs, docs/conventions.md). Channel c is multiplied element-wise with its own K weights and
 * summed over the window: acc[c] = sum_kpos x[kpos][c] * w[kpos][c]. After the last window
 * position of channel group cg, one output word of PE results leaves: OUT_BIAS +
 * #{k : acc >= T_k} over the N_THRES ascending thresholds of channel cg*PE + p (thresholds
 * line cg), or the raw ACC_BITS accumulator when N_THRES = 0. Per pixel: CF output words.
 *
 * Arithmetic as in the MVAU: BIPOLAR x BIPOLAR counts agreeing bit pairs (acc in [0, K]); with
 * one BIPOLAR operand the other is added (bit 1) or subtracted (bit 0); otherwise
 * signed/unsigned products. Sums are two's complement in ACC_BITS bits.
 *
 * Memories: weights line kpos*CF + cg (PE*W_BITS bits, element p = weight of channel cg*PE + p
 * at window position kpos), thresholds line cg (MVAU layout with NF = CF).
 *
 * The partial sums of the CF channel groups live in a CF x PE*ACC_BITS memory (one write port,
 * one registered read port); with CF = 1 the accumulator is a register, as in the MVAU.
 * A channel group is read one cycle before it is written back, so its previous update is at
 * least CF >= 2 steps earlier and already written: no forwarding is needed.
 * Pipeline (all stages clock-enabled by the registered ready of the output skid buffer, which
 * is also s_axis_tready: one input word per cycle, no combinational path from m_axis_tready):
 *   accept (counters) -> 1: input word, weight ROM read -> 2: PE products, partial-sum read
 *   -> 3: accumulator (written back), threshold ROM read -> 4: thresholds -> skid buffer.
 * Latency: an output word is valid 4 cycles after the handshake of the last input word of its
 * channel group's window, i.e. it can be accepted 5 cycles after that handshake.
 *
 * External weights (RAM_STYLE = "external"): no weight ROM; the weight lines arrive on s_wgt
 * in the order the ROM would be read (lines 0..K*CF-1 once per output pixel), one with each
 * input word: an input word is accepted only together with its weight word (s_axis_tready
 * also needs s_wgt_tvalid, s_wgt_tready = en && s_axis_tvalid). Otherwise s_wgt is unused.
 *
 * UltraRAM weights (RAM_STYLE = "ultra"): the weight memory is a URAM written from s_wgt
 * (always accepted), line after line (0..K*CF-1, then 0 again): the kernel loads it once before
 * the first run; it is then read like the ROM. The weight memory of every style is
 * rtl/weight_mem.v.
 */

`timescale 1ns / 1ps
`default_nettype none

module vvau #
(
    // channels
    parameter CH = 4,
    // channels per word, input and output (divides CH; the sliding window's SIMD)
    parameter PE = 2,
    // elements per window (K_H*K_W), >= 1
    parameter K = 9,
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
    parameter ACC_BITS = 12,
    // thresholds per channel; 0: no activation, output the accumulator
    parameter N_THRES = 3,
    // bits of an output element (ACC_BITS when N_THRES = 0; 1..32 otherwise)
    parameter OUT_BITS = 2,
    // integer added to the threshold count
    parameter OUT_BIAS = 0,
    // $readmemh file of the weights: K*CF lines of PE*W_BITS bits
    parameter WEIGHT_FILE = "weights.mem",
    // $readmemh file of the thresholds: CF lines of PE*N_THRES*ACC_BITS bits
    parameter THRES_FILE = "thresholds.mem",
    // weight memory implementation: "auto", "block" or "distributed"; "external": no weight
    // memory, the weight words stream in on s_wgt; "ultra": a URAM loaded from s_wgt (above)
    parameter RAM_STYLE = "auto"
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
    input  wire                     m_axis_tready,

    // weight stream (RAM_STYLE = "external" only): PE weights, weight memory layout
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [PE*W_BITS-1:0]     s_wgt_tdata,
    input  wire                     s_wgt_tvalid,
    /* verilator lint_on UNUSEDSIGNAL */
    output wire                     s_wgt_tready
);

localparam CF = CH / PE;
localparam CFW = CF > 1 ? $clog2(CF) : 1;
localparam KW = K > 1 ? $clog2(K) : 1;
localparam WAW = K * CF > 1 ? $clog2(K * CF) : 1;
localparam IW = PE * IN_BITS;
localparam WW = PE * W_BITS;
localparam AW = PE * ACC_BITS;

// product of one input element and one weight: width and signedness
localparam XNOR = (IN_BIPOLAR != 0) && (W_BIPOLAR != 0);
localparam XE = IN_BITS + (IN_SIGNED != 0 ? 0 : 1);   // input as a signed number
localparam WE = W_BITS + (W_SIGNED != 0 ? 0 : 1);     // weight as a signed number
// (+-w needs one bit more than w: -(2^(W-1)) for signed w, -(2^W - 1) for unsigned w)
localparam P_BITS = XNOR ? 1 :
                    (IN_BIPOLAR != 0) ? W_BITS + 1 :
                    (W_BIPOLAR != 0) ? IN_BITS + 1 : XE + WE;

/* verilator lint_off WIDTHTRUNC */
localparam [CFW-1:0] CF_LAST = CF - 1;
localparam [KW-1:0]  K_LAST  = K - 1;
/* verilator lint_on WIDTHTRUNC */

// reject illegal parameters at elaboration (the missing module name is the message)
generate
    if (PE < 1 || CH % PE != 0) begin : g_bad_pe
        vvau_parameter_PE_must_divide_CH invalid_parameter ();
    end
    if (K < 1) begin : g_bad_k
        vvau_parameter_K_must_be_at_least_1 invalid_parameter ();
    end
    if (IN_BIPOLAR != 0 && IN_BITS != 1) begin : g_bad_in_bipolar
        vvau_parameter_IN_BIPOLAR_needs_IN_BITS_1 invalid_parameter ();
    end
    if (W_BIPOLAR != 0 && W_BITS != 1) begin : g_bad_w_bipolar
        vvau_parameter_W_BIPOLAR_needs_W_BITS_1 invalid_parameter ();
    end
    if (N_THRES == 0 && OUT_BITS != ACC_BITS) begin : g_bad_out_bits
        vvau_parameter_OUT_BITS_must_equal_ACC_BITS_without_thresholds invalid_parameter ();
    end
    if (N_THRES < 0 || (N_THRES > 0 && (OUT_BITS < 1 || OUT_BITS > 32))) begin : g_bad_thres
        vvau_parameters_N_THRES_or_OUT_BITS_out_of_range invalid_parameter ();
    end
    if (IN_BITS < 1 || W_BITS < 1 || ACC_BITS < 2) begin : g_bad_bits
        vvau_parameters_IN_BITS_W_BITS_ACC_BITS_out_of_range invalid_parameter ();
    end
endgenerate

// ------------------------------------------------------------------------------------------
// accept: window position and channel group of the word on the stream
// ------------------------------------------------------------------------------------------

// pipeline clock enable: the output skid buffer can take a word
wire en;

reg [CFW-1:0] cg_reg;
reg [KW-1:0]  k_reg;
// the word's weight line is available (always, except for external weights)
wire          wgt_ok;
wire          accept = en && s_axis_tvalid && wgt_ok;

assign s_axis_tready = en && wgt_ok;

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

// ------------------------------------------------------------------------------------------
// stage 1: input word and weights
// ------------------------------------------------------------------------------------------

reg           v1_reg;
reg           first1_reg;
reg           last1_reg;
reg [CFW-1:0] cg1_reg;
reg [IW-1:0]  x1_reg;
wire [WW-1:0] w1;

always @(posedge clk) begin
    if (en) begin
        v1_reg     <= s_axis_tvalid && wgt_ok;
        first1_reg <= (k_reg == {KW{1'b0}});
        last1_reg  <= (k_reg == K_LAST);
        cg1_reg    <= cg_reg;
        x1_reg     <= s_axis_tdata;
    end
    if (rst) begin
        v1_reg <= 1'b0;
    end
end

// weight memory (ROM, URAM loaded from s_wgt, or the external stream s_wgt): the line of
// the word accepted in the previous enabled cycle
weight_mem #(
    .WIDTH(WW),
    .DEPTH(K * CF),
    .INIT_FILE(WEIGHT_FILE),
    .RAM_STYLE(RAM_STYLE),
    .AW(WAW)
) weights (
    .clk(clk),
    .rst(rst),
    .en(en),
    .step(en && s_axis_tvalid),
    .ok(wgt_ok),
    .data(w1),
    .s_wgt_tdata(s_wgt_tdata),
    .s_wgt_tvalid(s_wgt_tvalid),
    .s_wgt_tready(s_wgt_tready)
);

// one product per PE
wire [PE*P_BITS-1:0] prod1;

genvar p;
generate
    for (p = 0; p < PE; p = p + 1) begin : mul
        wire [IN_BITS-1:0] x = x1_reg[p*IN_BITS +: IN_BITS];
        wire [W_BITS-1:0]  w = w1[p*W_BITS +: W_BITS];
        wire [P_BITS-1:0]  prod;
        if (XNOR) begin : g_xnor
            assign prod = ~(x ^ w);
        end else if (IN_BIPOLAR != 0) begin : g_in_bipolar
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
        assign prod1[p*P_BITS +: P_BITS] = prod;
    end
endgenerate

// ------------------------------------------------------------------------------------------
// stage 2: products (extended to ACC_BITS), partial sum of the channel group
// ------------------------------------------------------------------------------------------

reg              v2_reg;
reg              first2_reg;
reg              last2_reg;
reg [CFW-1:0]    cg2_reg;
reg [PE*P_BITS-1:0] prod2_reg;
wire [AW-1:0]    prod2;      // products as ACC_BITS two's complement
wire [AW-1:0]    part2;      // partial sum of channel group cg2 (before this step)
wire [AW-1:0]    sum2;       // partial sum after this step

always @(posedge clk) begin
    if (en) begin
        v2_reg     <= v1_reg;
        first2_reg <= first1_reg;
        last2_reg  <= last1_reg;
        cg2_reg    <= cg1_reg;
        prod2_reg  <= prod1;
    end
    if (rst) begin
        v2_reg <= 1'b0;
    end
end

generate
    for (p = 0; p < PE; p = p + 1) begin : acc
        wire [P_BITS-1:0] pr = prod2_reg[p*P_BITS +: P_BITS];
        // to ACC_BITS: extend (sign, or zero for XNOR) or keep the low bits (wrap)
        if (P_BITS >= ACC_BITS) begin : g_trunc
            /* verilator lint_off UNUSEDSIGNAL */
            wire [P_BITS-1:0] pr_all = pr;
            /* verilator lint_on UNUSEDSIGNAL */
            assign prod2[p*ACC_BITS +: ACC_BITS] = pr_all[ACC_BITS-1:0];
        end else begin : g_extend
            wire msb = XNOR ? 1'b0 : pr[P_BITS-1];
            assign prod2[p*ACC_BITS +: ACC_BITS] = {{(ACC_BITS-P_BITS){msb}}, pr};
        end
        assign sum2[p*ACC_BITS +: ACC_BITS] =
            (first2_reg ? {ACC_BITS{1'b0}} : part2[p*ACC_BITS +: ACC_BITS])
            + prod2[p*ACC_BITS +: ACC_BITS];
    end
endgenerate

// ------------------------------------------------------------------------------------------
// stage 3: accumulator (the updated partial sum), threshold ROM read
// ------------------------------------------------------------------------------------------

reg           v3_reg;   // acc3 holds a complete window of its channel group
reg [AW-1:0]  acc3_reg;

always @(posedge clk) begin
    if (en && v2_reg) begin
        acc3_reg <= sum2;
    end
    if (en) begin
        v3_reg <= v2_reg && last2_reg;
    end
    if (rst) begin
        v3_reg <= 1'b0;
    end
end

generate
    if (CF > 1) begin : g_part_mem
        // partial sums of the CF channel groups: written in stage 2 -> 3, read (registered)
        // in stage 1 -> 2. Consecutive steps have different channel groups, so the group
        // read for stage 2 is never the one written at the same edge.
        reg [AW-1:0] part_mem [0:CF-1];
        reg [AW-1:0] rd2_reg;
        always @(posedge clk) begin
            if (en && v2_reg) begin
                part_mem[cg2_reg] <= sum2;
            end
            if (en) begin
                rd2_reg <= part_mem[cg1_reg];
            end
        end
        assign part2 = rd2_reg;
    end else begin : g_part_reg
        // one channel group: the accumulator register holds its partial sum
        assign part2 = acc3_reg;
    end
endgenerate

// ------------------------------------------------------------------------------------------
// stage 4: activation (thresholds) or raw accumulator
// ------------------------------------------------------------------------------------------

act_out #(
    .PE(PE),
    .ACC_BITS(ACC_BITS),
    .N_THRES(N_THRES),
    .OUT_BITS(OUT_BITS),
    .OUT_BIAS(OUT_BIAS),
    .DEPTH(CF),
    .AW(CFW),
    .THRES_FILE(THRES_FILE)
) act (
    .clk(clk),
    .rst(rst),
    .en(en),
    .addr(cg2_reg),
    .acc(acc3_reg),
    .in_valid(v3_reg),
    .m_axis_tdata(m_axis_tdata),
    .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready)
);

endmodule

`default_nettype wire
