/*
 * duplicate_stream: copies one AXI-Stream to two outputs (fork of a residual block).
 *
 * Every input word goes to both m0_axis and m1_axis, in order. Each output has its own
 * register slice with a skid buffer (axis_skid, 2 words); an input word is accepted when
 * both slices can take it (s_axis_tready = AND of the two registered readies). The outputs
 * therefore run in lockstep with slack: either consumer may accept up to 2 words more than
 * the other before the input (and so the faster consumer) stalls; it never deadlocks by
 * itself. A join of the two branches (add_streams) needs a FIFO on the branch with less
 * buffering, deep enough for the words the other branch takes in before it emits the word
 * that is joined with the first of them (docs/rtl_cnn.md).
 *
 * One word per cycle when both outputs are ready; latency 1 cycle; no combinational path
 * from m0/m1_axis_tready to s_axis_tready.
 */

`timescale 1ns / 1ps
`default_nettype none

module duplicate_stream #
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

    // first copy
    output wire [WIDTH-1:0]  m0_axis_tdata,
    output wire              m0_axis_tvalid,
    input  wire              m0_axis_tready,

    // second copy
    output wire [WIDTH-1:0]  m1_axis_tdata,
    output wire              m1_axis_tvalid,
    input  wire              m1_axis_tready
);

// reject illegal parameters at elaboration (the missing module name is the message)
generate
    if (WIDTH < 1) begin : g_bad_width
        duplicate_stream_parameter_WIDTH_must_be_at_least_1 invalid_parameter ();
    end
endgenerate

wire ready0;
wire ready1;

assign s_axis_tready = ready0 && ready1;

// each slice sees a valid word only when the other can take it too
axis_skid #(.WIDTH(WIDTH)) out0_skid (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata(s_axis_tdata),
    .s_axis_tvalid(s_axis_tvalid && ready1),
    .s_axis_tready(ready0),
    .m_axis_tdata(m0_axis_tdata),
    .m_axis_tvalid(m0_axis_tvalid),
    .m_axis_tready(m0_axis_tready)
);

axis_skid #(.WIDTH(WIDTH)) out1_skid (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata(s_axis_tdata),
    .s_axis_tvalid(s_axis_tvalid && ready0),
    .s_axis_tready(ready1),
    .m_axis_tdata(m1_axis_tdata),
    .m_axis_tvalid(m1_axis_tvalid),
    .m_axis_tready(m1_axis_tready)
);

endmodule

`default_nettype wire
