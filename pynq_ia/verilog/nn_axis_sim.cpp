// A C interface to the Verilated nn_axis.v (the course's AXI-stream wrapper around a da4ml
// core), for ctypes: the emulated board streams its DMA's words through the RTL one clock
// cycle at a time and counts the cycles (pynq_ia/board/rtl_ip.py loads it).
//
// One cycle: the cycle's inputs are set (s_axis: the next word, if any, with TVALID; m_axis:
// TREADY while there is room), the model settles, the handshakes of the coming rising edge are
// read (TVALID && TREADY, as AXI4-Stream defines a transfer), then the clock rises and falls.
// The IP sees the DMA's streams as a stream-limited DMA drives them: both channels running,
// TVALID low for the first `offer_after` cycles (the MM2S channel's start-up), then a word
// offered on every cycle while words remain, and every result word taken at once while there
// is room (pynq_ia/board/rtl_ip.py's DmaModel says when a real AXI DMA is this fast).

#include <cstdint>

#include "Vnn_axis.h"
#include "verilated.h"

struct NnAxis {
    VerilatedContext context;
    Vnn_axis top{&context};
};

static void clock_cycle(NnAxis* sim) {
    sim->top.aclk = 1;
    sim->top.eval();
    sim->top.aclk = 0;
    sim->top.eval();
}

extern "C" {

NnAxis* nn_axis_create(void) {
    auto* sim = new NnAxis;
    sim->top.aclk = 0;
    sim->top.aresetn = 0;
    sim->top.s_axis_tvalid = 0;
    sim->top.m_axis_tready = 0;
    sim->top.eval();
    return sim;
}

void nn_axis_destroy(NnAxis* sim) {
    sim->top.final();
    delete sim;
}

// aresetn low for `cycles` rising edges (AXI asks for at least 16 for some IP; ours needs 1).
void nn_axis_reset(NnAxis* sim, int cycles) {
    sim->top.aresetn = 0;
    sim->top.s_axis_tvalid = 0;
    sim->top.m_axis_tready = 0;
    for (int i = 0; i < cycles; ++i) clock_cycle(sim);
    sim->top.aresetn = 1;
    sim->top.eval();
}

// Run at most `max_cycles` cycles. From cycle `offer_after` on, s_axis offers in_words[*taken],
// in_last[*taken] while *taken < n_in; m_axis is ready while *given < out_room, and each result
// word lands in out_words[*given], out_last[*given]. Stops early when all input is taken and
// `idle_limit` cycles in a row passed without a result word, or when `out` is full (the caller
// makes room). *first_out is the cycle (counted from this call's first, 0-based) of the first
// result word, *last_word that of the last word that crossed, in or out; -1 if none. With
// `wave` (else NULL), the first `wave_room` cycles are
// recorded for a timing diagram: per cycle, wave[c] holds the bits s_axis TVALID, TREADY,
// TLAST (0-2) and m_axis TVALID, TREADY, TLAST (3-5), wave_data[2c] and wave_data[2c+1] the
// two TDATA.
// Returns the cycles run.
int64_t nn_axis_run(NnAxis* sim, const uint16_t* in_words, const uint8_t* in_last, int64_t n_in,
                    int64_t offer_after, int64_t* taken, uint16_t* out_words, uint8_t* out_last,
                    int64_t out_room, int64_t* given, int64_t max_cycles, int64_t idle_limit,
                    int64_t* first_out, int64_t* last_word, uint8_t* wave, uint16_t* wave_data,
                    int64_t wave_room) {
    Vnn_axis& top = sim->top;
    int64_t cycle = 0, idle = 0;
    *first_out = -1;
    *last_word = -1;
    for (; cycle < max_cycles; ++cycle) {
        const bool offer = cycle >= offer_after && *taken < n_in;
        const bool room = *given < out_room;
        top.s_axis_tvalid = offer;
        if (offer) {
            top.s_axis_tdata = in_words[*taken];
            top.s_axis_tlast = in_last[*taken];
        }
        top.m_axis_tready = room;
        top.eval();
        const bool word_in = offer && top.s_axis_tready;
        const bool word_out = room && top.m_axis_tvalid;
        if (wave != nullptr && cycle < wave_room) {
            wave[cycle] = (offer << 0) | (top.s_axis_tready << 1) | ((offer && top.s_axis_tlast) << 2)
                          | (top.m_axis_tvalid << 3) | (room << 4) | (top.m_axis_tlast << 5);
            wave_data[2 * cycle] = offer ? top.s_axis_tdata : 0;
            wave_data[2 * cycle + 1] = top.m_axis_tdata;
        }
        if (word_out) {
            if (*first_out < 0) *first_out = cycle;
            out_words[*given] = top.m_axis_tdata;
            out_last[*given] = top.m_axis_tlast;
            ++*given;
        }
        if (word_in || word_out) *last_word = cycle;
        clock_cycle(sim);
        if (word_in) ++*taken;
        // the start-up's cycles are not idle: the input has not begun
        idle = (offer || word_out || cycle < offer_after) ? 0 : idle + 1;
        if ((*taken == n_in && idle >= idle_limit) || *given == out_room) {
            ++cycle;
            break;
        }
    }
    top.s_axis_tvalid = 0;
    top.m_axis_tready = 0;
    top.eval();
    return cycle;
}

}  // extern "C"
