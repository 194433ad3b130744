/*
 * axis_skid: AXI-Stream register slice with a skid buffer.
 *
 * Registers tdata/tvalid on the output and tready on the input (s_axis_tready is a register:
 * no combinational path from m_axis_tready), while keeping full throughput: when the output
 * stalls, the word already in flight is parked in the skid register. Latency 1 cycle. The
 * pipelines of mvau and thresholding use s_axis_tready of this buffer as their clock enable.
 */

`timescale 1ns / 1ps
`default_nettype none

module axis_skid #
(
    // width of a word (bits)
    parameter WIDTH = 8
)
(
    input  wire              clk,
    input  wire              rst,

    // input stream
    input  wire [WIDTH-1:0]  s_axis_tdata,
    input  wire              s_axis_tvalid,
    output wire              s_axis_tready,

    // output stream
    output wire [WIDTH-1:0]  m_axis_tdata,
    output wire              m_axis_tvalid,
    input  wire              m_axis_tready
);

generate
    if (WIDTH < 1) begin : g_bad_width
        axis_skid_parameter_WIDTH_must_be_at_least_1 invalid_parameter ();
    end
endgenerate

reg [WIDTH-1:0] m_data_reg;
reg             m_valid_reg;
reg [WIDTH-1:0] skid_data_reg;
reg             skid_valid_reg;

assign s_axis_tready = !skid_valid_reg;
assign m_axis_tdata  = m_data_reg;
assign m_axis_tvalid = m_valid_reg;

always @(posedge clk) begin
    if (!m_valid_reg || m_axis_tready) begin
        // output register free (or being emptied): refill from the skid register or the input
        if (skid_valid_reg) begin
            m_data_reg     <= skid_data_reg;
            m_valid_reg    <= 1'b1;
            skid_valid_reg <= 1'b0;
        end else begin
            m_data_reg  <= s_axis_tdata;
            m_valid_reg <= s_axis_tvalid;
        end
    end else if (s_axis_tvalid && !skid_valid_reg) begin
        // output stalled: park the incoming word
        skid_data_reg  <= s_axis_tdata;
        skid_valid_reg <= 1'b1;
    end

    if (rst) begin
        m_valid_reg    <= 1'b0;
        skid_valid_reg <= 1'b0;
    end
end

endmodule

`default_nettype wire
