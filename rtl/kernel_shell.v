/*
 * kernel_shell: everything of the memory-mapped kernel around the stream core.
 *
 * The generated top fpgagen_kernel (OUTDIR/rtl/fpgagen_kernel.v) is this shell plus the
 * stitched stream design (<design>_top), connected through core_in (words to the core) and
 * core_out (words from the core). A run, started through the control registers
 * (kernel_ctrl, register map in abi.py):
 *
 *   1. the core takes ap_start (ap_ready pulse, ap_idle low) and latches the input and output
 *      addresses and the frame count n;
 *   2. kernel_axi_read fetches ceil(n * IN_WORDS * IN_BITS / BUS_BITS) bus words from the
 *      input address, kernel_unpack cuts them into n * IN_WORDS words of IN_BITS bits for the
 *      core; kernel_pack packs the core's n * OUT_WORDS words of OUT_BITS bits into bus words
 *      (zero padded at the end) and kernel_axi_write stores them at the output address;
 *   3. when every read beat has arrived and every write response is in, ap_done pulses and
 *      the core is idle again (with auto_restart set, the next run starts at once).
 *
 * External weights (docs/kernel.md): the generated top adds one kernel_weight_stream per layer
 * with external weights, reading the weight buffer (WGT_LO/WGT_HI, latched at ap_start like
 * the other addresses: wgt_addr) for run_frames frames from the run_start pulse on; their
 * reads share the read channels with the input (kernel_read_mux). A run ends only when they
 * are idle too (ext_idle), and their error responses count as read errors (ext_error).
 * Without external weights tie ext_idle high and ext_error low.
 *
 * UltraRAM weights (HAS_LOAD = 1): at the first start after a new weight address (WGT_LO/HI
 * written, or reset) the run begins with a load: load_start pulses, the loaders (one
 * kernel_weight_stream per URAM layer, one pass over its region) write the layers' URAMs, and
 * when load_done is high the input, output and external streams start as usual.
 *
 * AXI error responses are recorded in STATUS (bit 0 read, bit 1 write; cleared at the next
 * start) and the run still completes. Buffer addresses must be aligned to BUS_BITS / 8 bytes
 * (their low bits are ignored). ap_rst_n is active low and synchronous; core_rst is the
 * active-high reset of the stream core.
 */

`timescale 1ns / 1ps
`default_nettype none

module kernel_shell #
(
    // AXI4 master data width (bits): a power of two, 32..1024
    parameter BUS_BITS = 128,
    // stream word widths into / out of the core: data bits, and TDATA width (>= data bits)
    parameter IN_BITS = 8,
    parameter IN_AXIS_BITS = 8,
    parameter OUT_BITS = 8,
    parameter OUT_AXIS_BITS = 8,
    // stream words per frame into / out of the core
    parameter IN_WORDS = 1,
    parameter OUT_WORDS = 1,
    // AXI4 bursts: beats at most (1..256, <= 4 KB), read FIFO words, bursts in flight
    parameter BURST_BEATS = 64,
    parameter READ_FIFO_DEPTH = 256,
    parameter MAX_OUTSTANDING = 4,
    // 1: layers with UltraRAM weights are loaded before the first run (see above)
    parameter HAS_LOAD = 0
)
(
    input  wire                    ap_clk,
    input  wire                    ap_rst_n,

    // AXI4 master (memory): read channels fetch the input, write channels store the output
    output wire [0:0]              m_axi_gmem_awid,
    output wire [63:0]             m_axi_gmem_awaddr,
    output wire [7:0]              m_axi_gmem_awlen,
    output wire [2:0]              m_axi_gmem_awsize,
    output wire [1:0]              m_axi_gmem_awburst,
    output wire                    m_axi_gmem_awlock,
    output wire [3:0]              m_axi_gmem_awcache,
    output wire [2:0]              m_axi_gmem_awprot,
    output wire [3:0]              m_axi_gmem_awqos,
    output wire                    m_axi_gmem_awvalid,
    input  wire                    m_axi_gmem_awready,
    output wire [BUS_BITS-1:0]     m_axi_gmem_wdata,
    output wire [BUS_BITS/8-1:0]   m_axi_gmem_wstrb,
    output wire                    m_axi_gmem_wlast,
    output wire                    m_axi_gmem_wvalid,
    input  wire                    m_axi_gmem_wready,
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [0:0]              m_axi_gmem_bid,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [1:0]              m_axi_gmem_bresp,
    input  wire                    m_axi_gmem_bvalid,
    output wire                    m_axi_gmem_bready,
    output wire [0:0]              m_axi_gmem_arid,
    output wire [63:0]             m_axi_gmem_araddr,
    output wire [7:0]              m_axi_gmem_arlen,
    output wire [2:0]              m_axi_gmem_arsize,
    output wire [1:0]              m_axi_gmem_arburst,
    output wire                    m_axi_gmem_arlock,
    output wire [3:0]              m_axi_gmem_arcache,
    output wire [2:0]              m_axi_gmem_arprot,
    output wire [3:0]              m_axi_gmem_arqos,
    output wire                    m_axi_gmem_arvalid,
    input  wire                    m_axi_gmem_arready,
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [0:0]              m_axi_gmem_rid,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [BUS_BITS-1:0]     m_axi_gmem_rdata,
    input  wire [1:0]              m_axi_gmem_rresp,
    input  wire                    m_axi_gmem_rlast,
    input  wire                    m_axi_gmem_rvalid,
    output wire                    m_axi_gmem_rready,

    // AXI4-Lite slave (control registers, abi.py)
    input  wire [6:0]              s_axi_control_awaddr,
    input  wire                    s_axi_control_awvalid,
    output wire                    s_axi_control_awready,
    input  wire [31:0]             s_axi_control_wdata,
    input  wire [3:0]              s_axi_control_wstrb,
    input  wire                    s_axi_control_wvalid,
    output wire                    s_axi_control_wready,
    output wire [1:0]              s_axi_control_bresp,
    output wire                    s_axi_control_bvalid,
    input  wire                    s_axi_control_bready,
    input  wire [6:0]              s_axi_control_araddr,
    input  wire                    s_axi_control_arvalid,
    output wire                    s_axi_control_arready,
    output wire [31:0]             s_axi_control_rdata,
    output wire [1:0]              s_axi_control_rresp,
    output wire                    s_axi_control_rvalid,
    input  wire                    s_axi_control_rready,

    /* verilator lint_off SYMRSVDWORD */
    output wire                    interrupt,
    /* verilator lint_on SYMRSVDWORD */

    // the stream core
    output wire                    core_rst,
    output wire [IN_AXIS_BITS-1:0] core_in_tdata,
    output wire                    core_in_tvalid,
    input  wire                    core_in_tready,
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [OUT_AXIS_BITS-1:0] core_out_tdata,   // bits above OUT_BITS are padding
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire                    core_out_tvalid,
    output wire                    core_out_tready,

    // external weight streamers (see above)
    output reg  [63:0]             wgt_addr,
    output wire [31:0]             run_frames,
    output wire                    run_start,
    input  wire                    ext_idle,
    input  wire                    ext_error,
    // UltraRAM weight loaders (HAS_LOAD): start pulse, all loaded (tie high without)
    output wire                    load_start,
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire                    load_done
    /* verilator lint_on UNUSEDSIGNAL */
);

localparam CB = 48;   // word and beat counters
localparam LOG_BUS = $clog2(BUS_BITS);
/* verilator lint_off WIDTHEXPAND */
localparam [63:0] IN_FRAME_BITS = IN_WORDS * IN_BITS;
localparam [63:0] OUT_FRAME_BITS = OUT_WORDS * OUT_BITS;
/* verilator lint_on WIDTHEXPAND */

generate
    if (IN_BITS < 1 || OUT_BITS < 1 || IN_AXIS_BITS < IN_BITS || OUT_AXIS_BITS < OUT_BITS) begin : g_bad_width
        kernel_shell_parameters_IN_BITS_OUT_BITS_at_least_1_and_at_most_their_AXIS_width invalid_parameter ();
    end
    if (IN_WORDS < 1 || OUT_WORDS < 1) begin : g_bad_words
        kernel_shell_parameters_IN_WORDS_and_OUT_WORDS_must_be_at_least_1 invalid_parameter ();
    end
endgenerate

reg rst;
always @(posedge ap_clk) rst <= !ap_rst_n;
assign core_rst = rst;

// one AXI ID (0): responses come back in order
assign m_axi_gmem_awid = 1'b0;
assign m_axi_gmem_arid = 1'b0;

// ---- control registers ---------------------------------------------------------------------
wire        ap_start, ap_ready, ap_idle;
reg         ap_done;
wire [63:0] in_addr, out_addr, wgt_reg_addr;
wire [31:0] n_frames;
wire        rd_error, wr_error;
/* verilator lint_off UNUSEDSIGNAL */
wire        wgt_new;
/* verilator lint_on UNUSEDSIGNAL */
wire        wgt_loaded;

kernel_ctrl #(.ADDR_BITS(7)) control_inst (
    .clk(ap_clk),
    .rst(rst),
    .s_axi_awaddr(s_axi_control_awaddr),
    .s_axi_awvalid(s_axi_control_awvalid),
    .s_axi_awready(s_axi_control_awready),
    .s_axi_wdata(s_axi_control_wdata),
    .s_axi_wstrb(s_axi_control_wstrb),
    .s_axi_wvalid(s_axi_control_wvalid),
    .s_axi_wready(s_axi_control_wready),
    .s_axi_bresp(s_axi_control_bresp),
    .s_axi_bvalid(s_axi_control_bvalid),
    .s_axi_bready(s_axi_control_bready),
    .s_axi_araddr(s_axi_control_araddr),
    .s_axi_arvalid(s_axi_control_arvalid),
    .s_axi_arready(s_axi_control_arready),
    .s_axi_rdata(s_axi_control_rdata),
    .s_axi_rresp(s_axi_control_rresp),
    .s_axi_rvalid(s_axi_control_rvalid),
    .s_axi_rready(s_axi_control_rready),
    .ap_start(ap_start),
    .ap_ready(ap_ready),
    .ap_done(ap_done),
    .ap_idle(ap_idle),
    .status({wr_error, rd_error || ext_error}),
    .in_addr(in_addr),
    .out_addr(out_addr),
    .n_frames(n_frames),
    .wgt_addr(wgt_reg_addr),
    .wgt_new(wgt_new),
    .wgt_loaded(wgt_loaded),
    .interrupt(interrupt)
);

// ---- run sequencer -----------------------------------------------------------------------------
localparam [2:0] S_IDLE = 3'd0, S_CALC = 3'd1, S_GO = 3'd2, S_RUN = 3'd3, S_LOAD0 = 3'd4,
                 S_LOAD = 3'd5;
reg  [2:0]    state;
reg  [63:0]   run_in, run_out;
reg  [31:0]   run_n;
reg  [CB-1:0] in_words, out_words, in_beats, out_beats;
wire          go = state == S_GO;
wire          rd_idle, wr_idle;

assign ap_idle  = state == S_IDLE;
assign run_frames = run_n;
assign run_start  = go;
assign load_start = state == S_LOAD0;
assign wgt_loaded = state == S_LOAD && load_done;
assign ap_ready = state == S_IDLE && ap_start;

/* verilator lint_off WIDTHEXPAND */
localparam [63:0] IN_WORDS_C = IN_WORDS;
localparam [63:0] OUT_WORDS_C = OUT_WORDS;
localparam [63:0] BUS_M1 = BUS_BITS - 1;
/* verilator lint_on WIDTHEXPAND */
wire [63:0] n64 = {32'd0, run_n};
/* verilator lint_off UNUSEDSIGNAL */
wire [63:0] in_beats_total  = (n64 * IN_FRAME_BITS + BUS_M1) >> LOG_BUS;
wire [63:0] out_beats_total = (n64 * OUT_FRAME_BITS + BUS_M1) >> LOG_BUS;
wire [63:0] in_words_total  = n64 * IN_WORDS_C;
wire [63:0] out_words_total = n64 * OUT_WORDS_C;
/* verilator lint_on UNUSEDSIGNAL */

always @(posedge ap_clk) begin
    ap_done <= 1'b0;
    case (state)
        S_IDLE: if (ap_start) begin
            run_in  <= in_addr;
            run_out <= out_addr;
            run_n   <= n_frames;
            wgt_addr <= wgt_reg_addr;
            state   <= S_CALC;
        end
        S_CALC: begin
            in_words  <= in_words_total[CB-1:0];
            out_words <= out_words_total[CB-1:0];
            in_beats  <= in_beats_total[CB-1:0];
            out_beats <= out_beats_total[CB-1:0];
            state     <= (HAS_LOAD != 0 && wgt_new) ? S_LOAD0 : S_GO;
        end
        S_LOAD0: state <= S_LOAD;
        S_LOAD: if (load_done) state <= S_GO;
        S_GO: state <= S_RUN;
        default: if (rd_idle && wr_idle && ext_idle) begin
            ap_done <= 1'b1;
            state   <= S_IDLE;
        end
    endcase
    if (rst) begin
        state   <= S_IDLE;
        ap_done <= 1'b0;
    end
end

// ---- input: memory -> bus words -> stream words ------------------------------------------------
wire [BUS_BITS-1:0] rd_data;
wire                rd_valid, rd_ready;
wire [IN_BITS-1:0]  in_word;

kernel_axi_read #(
    .DATA_BITS(BUS_BITS),
    .ADDR_BITS(64),
    .BURST_BEATS(BURST_BEATS),
    .FIFO_DEPTH(READ_FIFO_DEPTH),
    .MAX_OUTSTANDING(MAX_OUTSTANDING),
    .COUNT_BITS(CB)
) read_inst (
    .clk(ap_clk),
    .rst(rst),
    .start(go),
    .addr(run_in),
    .beats(in_beats),
    .idle(rd_idle),
    .error(rd_error),
    .m_axi_araddr(m_axi_gmem_araddr),
    .m_axi_arlen(m_axi_gmem_arlen),
    .m_axi_arsize(m_axi_gmem_arsize),
    .m_axi_arburst(m_axi_gmem_arburst),
    .m_axi_arlock(m_axi_gmem_arlock),
    .m_axi_arcache(m_axi_gmem_arcache),
    .m_axi_arprot(m_axi_gmem_arprot),
    .m_axi_arqos(m_axi_gmem_arqos),
    .m_axi_arvalid(m_axi_gmem_arvalid),
    .m_axi_arready(m_axi_gmem_arready),
    .m_axi_rdata(m_axi_gmem_rdata),
    .m_axi_rresp(m_axi_gmem_rresp),
    .m_axi_rlast(m_axi_gmem_rlast),
    .m_axi_rvalid(m_axi_gmem_rvalid),
    .m_axi_rready(m_axi_gmem_rready),
    .m_axis_tdata(rd_data),
    .m_axis_tvalid(rd_valid),
    .m_axis_tready(rd_ready)
);

kernel_unpack #(
    .BUS_BITS(BUS_BITS),
    .WORD_BITS(IN_BITS),
    .COUNT_BITS(CB)
) unpack_inst (
    .clk(ap_clk),
    .rst(rst),
    .start(go),
    .words(in_words),
    .s_axis_tdata(rd_data),
    .s_axis_tvalid(rd_valid),
    .s_axis_tready(rd_ready),
    .m_axis_tdata(in_word),
    .m_axis_tvalid(core_in_tvalid),
    .m_axis_tready(core_in_tready)
);

generate
    if (IN_AXIS_BITS > IN_BITS) begin : g_in_pad
        assign core_in_tdata = {{(IN_AXIS_BITS - IN_BITS){1'b0}}, in_word};
    end else begin : g_in_nopad
        assign core_in_tdata = in_word;
    end
endgenerate

// ---- output: stream words -> bus words -> memory -----------------------------------------------
wire [BUS_BITS-1:0] wr_data;
wire                wr_valid, wr_ready;

kernel_pack #(
    .WORD_BITS(OUT_BITS),
    .BUS_BITS(BUS_BITS),
    .COUNT_BITS(CB)
) pack_inst (
    .clk(ap_clk),
    .rst(rst),
    .start(go),
    .words(out_words),
    .beats(out_beats),
    .s_axis_tdata(core_out_tdata[OUT_BITS-1:0]),
    .s_axis_tvalid(core_out_tvalid),
    .s_axis_tready(core_out_tready),
    .m_axis_tdata(wr_data),
    .m_axis_tvalid(wr_valid),
    .m_axis_tready(wr_ready)
);

kernel_axi_write #(
    .DATA_BITS(BUS_BITS),
    .ADDR_BITS(64),
    .BURST_BEATS(BURST_BEATS),
    .MAX_OUTSTANDING(MAX_OUTSTANDING),
    .COUNT_BITS(CB)
) write_inst (
    .clk(ap_clk),
    .rst(rst),
    .start(go),
    .addr(run_out),
    .beats(out_beats),
    .idle(wr_idle),
    .error(wr_error),
    .s_axis_tdata(wr_data),
    .s_axis_tvalid(wr_valid),
    .s_axis_tready(wr_ready),
    .m_axi_awaddr(m_axi_gmem_awaddr),
    .m_axi_awlen(m_axi_gmem_awlen),
    .m_axi_awsize(m_axi_gmem_awsize),
    .m_axi_awburst(m_axi_gmem_awburst),
    .m_axi_awlock(m_axi_gmem_awlock),
    .m_axi_awcache(m_axi_gmem_awcache),
    .m_axi_awprot(m_axi_gmem_awprot),
    .m_axi_awqos(m_axi_gmem_awqos),
    .m_axi_awvalid(m_axi_gmem_awvalid),
    .m_axi_awready(m_axi_gmem_awready),
    .m_axi_wdata(m_axi_gmem_wdata),
    .m_axi_wstrb(m_axi_gmem_wstrb),
    .m_axi_wlast(m_axi_gmem_wlast),
    .m_axi_wvalid(m_axi_gmem_wvalid),
    .m_axi_wready(m_axi_gmem_wready),
    .m_axi_bresp(m_axi_gmem_bresp),
    .m_axi_bvalid(m_axi_gmem_bvalid),
    .m_axi_bready(m_axi_gmem_bready)
);

endmodule

`default_nettype wire
