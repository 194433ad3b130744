/*
 * kernel_ctrl: AXI4-Lite control slave of the memory-mapped kernel, with the register map
 * Vitis HLS gives a function top(in*, out*, n, status*, w*) (generator/fpgagen/abi.py,
 * docs/kernel.md; the HLS kernel has the same map):
 *
 *   0x00 CTRL    bit 0 ap_start (write 1 to start; stays 1 until the core takes it, i.e.
 *                until ap_ready, or forever with auto_restart), bit 1 ap_done (set when a
 *                run ends, cleared when CTRL is read), bit 2 ap_idle, bit 3 ap_ready (set
 *                when the core takes a start, cleared when CTRL is read), bit 7 auto_restart
 *   0x04 GIE     bit 0 global interrupt enable
 *   0x08 IER     bit 0 ap_done interrupt enable, bit 1 ap_ready interrupt enable
 *   0x0C ISR     bit 0 ap_done, bit 1 ap_ready (set by the event when enabled in IER;
 *                writing 1 to a bit toggles it)
 *   0x10/0x14    input buffer address (low/high word)
 *   0x1C/0x20    output buffer address (low/high word)
 *   0x28 N       number of frames
 *   0x30 STATUS  read only: the core's error bits (bit 0 read error, bit 1 write error)
 *   0x34 STATUS_CTRL bit 0 status_ap_vld: set when a run ends, cleared when read (the
 *                control word Vitis HLS gives an output scalar)
 *   0x40/0x44    weight buffer address (low/high word; used by kernels with external or
 *                UltraRAM weights, a plain register otherwise); writing either word (and
 *                reset) sets wgt_new, which wgt_loaded clears: the kernel loads its UltraRAM
 *                weights at the first start after a new weight address
 *
 * Other offsets read 0 and ignore writes. Byte strobes are honoured. One write and one read
 * transaction in flight (AWREADY/WREADY/ARREADY drop until the response is taken); writes
 * accept AW and W in either order. interrupt = GIE & (ISR[0] | ISR[1]).
 */

`timescale 1ns / 1ps
`default_nettype none

module kernel_ctrl #
(
    // AXI4-Lite address bits (the register map needs 7)
    parameter ADDR_BITS = 7
)
(
    input  wire                  clk,
    input  wire                  rst,

    // AXI4-Lite slave
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [ADDR_BITS-1:0]  s_axi_awaddr,   // bits 1..0 and above 6 ignored
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire                  s_axi_awvalid,
    output wire                  s_axi_awready,
    input  wire [31:0]           s_axi_wdata,
    input  wire [3:0]            s_axi_wstrb,
    input  wire                  s_axi_wvalid,
    output wire                  s_axi_wready,
    output wire [1:0]            s_axi_bresp,
    output wire                  s_axi_bvalid,
    input  wire                  s_axi_bready,
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [ADDR_BITS-1:0]  s_axi_araddr,   // bits 1..0 and above 6 ignored
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire                  s_axi_arvalid,
    output wire                  s_axi_arready,
    output wire [31:0]           s_axi_rdata,
    output wire [1:0]            s_axi_rresp,
    output wire                  s_axi_rvalid,
    input  wire                  s_axi_rready,

    // core handshake
    output wire                  ap_start,
    input  wire                  ap_ready,   // pulse: the core took the start (arguments read)
    input  wire                  ap_done,    // pulse: a run ended
    input  wire                  ap_idle,
    input  wire [1:0]            status,
    output wire [63:0]           in_addr,
    output wire [63:0]           out_addr,
    output wire [31:0]           n_frames,
    /* verilator lint_off UNUSEDSIGNAL */
    output wire [63:0]           wgt_addr,
    output reg                   wgt_new,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire                  wgt_loaded,
    /* verilator lint_off SYMRSVDWORD */
    output wire                  interrupt
    /* verilator lint_on SYMRSVDWORD */
);

generate
    if (ADDR_BITS < 7) begin : g_bad_addr
        kernel_ctrl_parameter_ADDR_BITS_must_be_at_least_7 invalid_parameter ();
    end
endgenerate

localparam [6:0] A_CTRL = 7'h00, A_GIE = 7'h04, A_IER = 7'h08, A_ISR = 7'h0C,
                 A_IN_LO = 7'h10, A_IN_HI = 7'h14, A_OUT_LO = 7'h1C, A_OUT_HI = 7'h20,
                 A_N = 7'h28, A_STATUS = 7'h30, A_STATUS_CTRL = 7'h34, A_WGT_LO = 7'h40,
                 A_WGT_HI = 7'h44;

reg        start_reg, done_reg, ready_reg, auto_reg, gie_reg, svld_reg;
reg [1:0]  ier_reg, isr_reg;
reg [63:0] in_reg, out_reg, wgt_reg;
reg [31:0] n_reg;

// ---- write channel: take AW and W (any order), then answer on B --------------------------
reg        aw_full, w_full, b_valid;
reg [6:0]  aw_addr;
reg [31:0] w_data;
reg [3:0]  w_strb;

assign s_axi_awready = !aw_full && !b_valid;
assign s_axi_wready  = !w_full && !b_valid;
assign s_axi_bvalid  = b_valid;
assign s_axi_bresp   = 2'b00;

wire       do_write = aw_full && w_full && !b_valid;

// byte-strobed update of a 32-bit register
function [31:0] merge(input [31:0] old, input [31:0] data, input [3:0] strb);
    integer b;
    begin
        merge = old;
        for (b = 0; b < 4; b = b + 1)
            if (strb[b]) merge[8*b +: 8] = data[8*b +: 8];
    end
endfunction

// ---- read channel -------------------------------------------------------------------------
reg        r_valid;
reg [31:0] r_data;
wire       ar_hs = s_axi_arvalid && !r_valid;
wire [6:0] ar_a  = {s_axi_araddr[6:2], 2'b00};
wire       read_ctrl = ar_hs && ar_a == A_CTRL;
wire       read_svld = ar_hs && ar_a == A_STATUS_CTRL;

assign s_axi_arready = !r_valid;
assign s_axi_rvalid  = r_valid;
assign s_axi_rdata   = r_data;
assign s_axi_rresp   = 2'b00;

reg [31:0] rd_mux;
always @* begin
    case (ar_a)
        A_CTRL:   rd_mux = {24'd0, auto_reg, 3'd0, ready_reg, ap_idle, done_reg, start_reg};
        A_GIE:    rd_mux = {31'd0, gie_reg};
        A_IER:    rd_mux = {30'd0, ier_reg};
        A_ISR:    rd_mux = {30'd0, isr_reg};
        A_IN_LO:  rd_mux = in_reg[31:0];
        A_IN_HI:  rd_mux = in_reg[63:32];
        A_OUT_LO: rd_mux = out_reg[31:0];
        A_OUT_HI: rd_mux = out_reg[63:32];
        A_N:      rd_mux = n_reg;
        A_STATUS: rd_mux = {30'd0, status};
        A_STATUS_CTRL: rd_mux = {31'd0, svld_reg};
        A_WGT_LO: rd_mux = wgt_reg[31:0];
        A_WGT_HI: rd_mux = wgt_reg[63:32];
        default:  rd_mux = 32'd0;
    endcase
end

wire wr_ctrl = do_write && aw_addr == A_CTRL && w_strb[0];

always @(posedge clk) begin
    // write channel handshakes
    if (s_axi_awvalid && s_axi_awready) begin
        aw_full <= 1'b1;
        aw_addr <= {s_axi_awaddr[6:2], 2'b00};
    end
    if (s_axi_wvalid && s_axi_wready) begin
        w_full <= 1'b1;
        w_data <= s_axi_wdata;
        w_strb <= s_axi_wstrb;
    end
    if (do_write) begin
        aw_full <= 1'b0;
        w_full  <= 1'b0;
        b_valid <= 1'b1;
        case (aw_addr)
            A_GIE:    if (w_strb[0]) gie_reg <= w_data[0];
            A_IER:    if (w_strb[0]) ier_reg <= w_data[1:0];
            A_IN_LO:  in_reg[31:0]   <= merge(in_reg[31:0], w_data, w_strb);
            A_IN_HI:  in_reg[63:32]  <= merge(in_reg[63:32], w_data, w_strb);
            A_OUT_LO: out_reg[31:0]  <= merge(out_reg[31:0], w_data, w_strb);
            A_OUT_HI: out_reg[63:32] <= merge(out_reg[63:32], w_data, w_strb);
            A_N:      n_reg <= merge(n_reg, w_data, w_strb);
            A_WGT_LO: wgt_reg[31:0]  <= merge(wgt_reg[31:0], w_data, w_strb);
            A_WGT_HI: wgt_reg[63:32] <= merge(wgt_reg[63:32], w_data, w_strb);
            default:  ;
        endcase
        if (wr_ctrl) auto_reg <= w_data[7];
    end
    if (b_valid && s_axi_bready) b_valid <= 1'b0;
    // a new weight address: load the UltraRAM weights at the next start
    if (wgt_loaded) wgt_new <= 1'b0;
    if (do_write && (aw_addr == A_WGT_LO || aw_addr == A_WGT_HI)) wgt_new <= 1'b1;

    // read channel
    if (ar_hs) begin
        r_valid <= 1'b1;
        r_data  <= rd_mux;
    end
    if (r_valid && s_axi_rready) r_valid <= 1'b0;

    // ap_start: set by a write of 1, taken by the core on ap_ready (kept with auto_restart)
    if (ap_ready && !auto_reg && !(wr_ctrl && w_data[7])) start_reg <= 1'b0;
    if (wr_ctrl && w_data[0]) start_reg <= 1'b1;
    // ap_done / ap_ready: sticky until CTRL is read (an event in the same cycle wins)
    if (read_ctrl) begin
        done_reg  <= 1'b0;
        ready_reg <= 1'b0;
    end
    if (ap_done) done_reg <= 1'b1;
    // status_ap_vld: STATUS was written (a run ended); cleared by reading it
    if (read_svld) svld_reg <= 1'b0;
    if (ap_done) svld_reg <= 1'b1;
    if (ap_ready) ready_reg <= 1'b1;
    // interrupt status: set by enabled events, toggled by writing 1
    if (do_write && aw_addr == A_ISR && w_strb[0]) isr_reg <= isr_reg ^ w_data[1:0];
    if (ap_done && ier_reg[0]) isr_reg[0] <= 1'b1;
    if (ap_ready && ier_reg[1]) isr_reg[1] <= 1'b1;

    if (rst) begin
        aw_full   <= 1'b0;
        w_full    <= 1'b0;
        b_valid   <= 1'b0;
        r_valid   <= 1'b0;
        start_reg <= 1'b0;
        done_reg  <= 1'b0;
        ready_reg <= 1'b0;
        auto_reg  <= 1'b0;
        gie_reg   <= 1'b0;
        svld_reg  <= 1'b0;
        ier_reg   <= 2'd0;
        isr_reg   <= 2'd0;
        in_reg    <= 64'd0;
        out_reg   <= 64'd0;
        n_reg     <= 32'd0;
        wgt_reg   <= 64'd0;
        wgt_new   <= 1'b1;
    end
end

assign ap_start  = start_reg;
assign in_addr   = in_reg;
assign out_addr  = out_reg;
assign n_frames  = n_reg;
assign wgt_addr  = wgt_reg;
assign interrupt = gie_reg && (isr_reg != 2'd0);

endmodule

`default_nettype wire
