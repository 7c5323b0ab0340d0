// AXI4-Stream around a da4ml network core: the course's RTL IP (issue 23).
//
// The core (`NN_CORE: the `<top>_wrapper` module da4ml's RTLModel writes,
// e.g. jet_dnn_wrapper, whose fields share one format per side) is a
// pipeline without a stall: it samples `model_inp` (N_IN fields of IN_BITS,
// field 0 in the lowest bits) at every rising clock edge and shows the
// result of that input on `model_out` (N_OUT fields of OUT_FIELD_BITS)
// CORE_LATENCY edges later, the sampling edge included.
//
// Input (s_axis): one IN_BITS-bit word per feature, N_IN words per frame,
// as the hls4ml IP takes them. A frame carries TLAST if any of its words
// did (hls4ml's wrapper ORs them): a DMA transfer's TLAST on a word in the
// middle of a frame does not cut the frame short, and a partial frame waits
// for its remaining words.
//
// Output (m_axis): N_OUT words per frame, each a core field sign- or
// zero-extended to OUT_WORD_BITS and shifted left by OUT_SHIFT (from the
// core's fraction bits to the word's type); TLAST on the last word of a
// frame whose input carried TLAST.
//
// Flow control: the core cannot stall, so a frame enters it only when the
// output buffer is sure to have room for its result: at most FRAMES frames
// are held (in the core or waiting in the buffer). Only a frame's last word
// waits for room: the next frame's other words come in while the previous
// one is in the core. With m_axis always ready, a frame leaves
// CORE_LATENCY + N_OUT cycles after its last word came in; while that is
// less than FRAMES * N_IN cycles (the jet tagger: 7 + 5 against 2 x 16) the
// IP takes a new frame every N_IN cycles, the input stream's own limit (the
// test bench, tests/rtl, checks that TREADY never drops then). When m_axis
// stalls, s_axis_tready drops on a frame's last word until a frame has left.
//
// aresetn: synchronous, active low, as AXI's ARESETn.

`timescale 1 ns / 1 ps
`default_nettype none

`ifndef NN_CORE
`define NN_CORE nn_core_wrapper
`endif

module nn_axis #(
    parameter integer N_IN = 16,
    parameter integer IN_BITS = 16,
    parameter integer N_OUT = 5,
    parameter integer OUT_FIELD_BITS = 14,
    parameter integer OUT_SIGNED = 1,
    parameter integer OUT_SHIFT = 0,
    parameter integer OUT_WORD_BITS = 16,
    parameter integer CORE_LATENCY = 7,
    parameter integer FRAMES = 2          // output buffer, in frames (a power of 2, >= 2)
) (
    input  wire                     aclk,
    input  wire                     aresetn,
    input  wire [IN_BITS-1:0]       s_axis_tdata,
    input  wire                     s_axis_tvalid,
    output wire                     s_axis_tready,
    input  wire                     s_axis_tlast,
    output wire [OUT_WORD_BITS-1:0] m_axis_tdata,
    output wire                     m_axis_tvalid,
    input  wire                     m_axis_tready,
    output wire                     m_axis_tlast
);
    localparam integer IN_COUNT_BITS = $clog2(N_IN + 1);
    localparam integer OUT_COUNT_BITS = $clog2(N_OUT + 1);
    localparam integer SLOT_BITS = $clog2(FRAMES);
    localparam integer RESULT_BITS = N_OUT * OUT_FIELD_BITS;

    // ------------------------------------------------------------------ input: collect a frame
    reg [IN_BITS*(N_IN-1)-1:0] words;     // the frame's words before its last
    reg [IN_COUNT_BITS-1:0] word_count;   // words of the current frame received so far
    reg frame_last;                       // a word of the current frame carried TLAST

    reg [SLOT_BITS:0] frames_held;        // frames in the core or in the output buffer
    wire last_word = (word_count == N_IN - 1);
    wire room = (frames_held < FRAMES);
    assign s_axis_tready = aresetn && (!last_word || room);
    wire take = s_axis_tvalid && s_axis_tready;
    wire launch = take && last_word;      // the core samples the whole frame at this edge

    always @(posedge aclk) begin
        if (!aresetn) begin
            word_count <= 0;
            frame_last <= 1'b0;
        end else if (take) begin
            if (last_word) begin
                word_count <= 0;
                frame_last <= 1'b0;
            end else begin
                words[word_count*IN_BITS +: IN_BITS] <= s_axis_tdata;
                word_count <= word_count + 1'b1;
                frame_last <= frame_last | s_axis_tlast;
            end
        end
    end

    // ----------------------------------------------------------------------------- the core
    wire [IN_BITS*N_IN-1:0] model_inp = {s_axis_tdata, words};  // meaningful when launching
    wire [RESULT_BITS-1:0] model_out;
    `NN_CORE core (.clk(aclk), .model_inp(model_inp), .model_out(model_out));

    // which edges' inputs were frames, and whether they carried TLAST, as they pass the core
    reg [CORE_LATENCY-1:0] in_core;
    reg [CORE_LATENCY-1:0] in_core_last;
    always @(posedge aclk) begin
        if (!aresetn) begin
            in_core <= 0;
            in_core_last <= 0;
        end else begin
            in_core <= {in_core[CORE_LATENCY-2:0], launch};
            in_core_last <= {in_core_last[CORE_LATENCY-2:0], launch & (frame_last | s_axis_tlast)};
        end
    end
    wire result_ready = in_core[CORE_LATENCY-1];  // model_out holds a frame's result now

    // ------------------------------------------------------------- output: buffer, then words
    reg [RESULT_BITS-1:0] results [0:FRAMES-1];
    reg results_last [0:FRAMES-1];
    reg [SLOT_BITS:0] write_slot, read_slot;      // one bit more than a slot: full vs empty
    reg [OUT_COUNT_BITS-1:0] out_index;           // the word of the head frame on m_axis

    wire buffered = (write_slot != read_slot);
    wire [RESULT_BITS-1:0] head = results[read_slot[SLOT_BITS-1:0]];
    wire [OUT_FIELD_BITS-1:0] field = head[out_index*OUT_FIELD_BITS +: OUT_FIELD_BITS];
    wire extension = OUT_SIGNED ? field[OUT_FIELD_BITS-1] : 1'b0;
    wire [OUT_WORD_BITS+OUT_FIELD_BITS-1:0] extended = {{OUT_WORD_BITS{extension}}, field};
    assign m_axis_tdata = extended[OUT_WORD_BITS-1:0] << OUT_SHIFT;
    assign m_axis_tvalid = buffered;
    assign m_axis_tlast = buffered && (out_index == N_OUT - 1) &&
                          results_last[read_slot[SLOT_BITS-1:0]];
    wire give = m_axis_tvalid && m_axis_tready;
    wire leave = give && (out_index == N_OUT - 1);  // the head frame's last word leaves

    always @(posedge aclk) begin
        if (!aresetn) begin
            write_slot <= 0;
            read_slot <= 0;
            out_index <= 0;
            frames_held <= 0;
        end else begin
            if (result_ready) begin
                results[write_slot[SLOT_BITS-1:0]] <= model_out;
                results_last[write_slot[SLOT_BITS-1:0]] <= in_core_last[CORE_LATENCY-1];
                write_slot <= write_slot + 1'b1;
            end
            if (give) begin
                out_index <= leave ? 0 : out_index + 1'b1;
                if (leave) read_slot <= read_slot + 1'b1;
            end
            frames_held <= frames_held + launch - leave;
        end
    end
endmodule

`default_nettype wire
