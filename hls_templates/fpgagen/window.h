// fpgagen HLS library: convolution plumbing, sliding window (im2col) and feature-map padding.
//
// Streams are NHWC (pixels row-major, channels innermost); a word carries SIMD consecutive
// channels of one pixel, element 0 in the least significant bits (docs/conventions.md). Both
// functions reproduce the RTL modules rtl/sliding_window.v and rtl/fm_padding.v word for word.
#ifndef FPGAGEN_WINDOW_H
#define FPGAGEN_WINDOW_H

#include "streams.h"

#ifndef __SYNTHESIS__
#include <cstdio>
#endif

namespace fpgagen {

/*! Sliding window (im2col) over n_frames frames, dilation 1, no padding.
 *
 * C provides (unsigned): IFM_H, IFM_W, CH, SIMD (divides CH), K_H, K_W, S_H, S_W, BITS (bits of
 * an element), PAR (window words per output word: divides K_W*CF, or is K_W*CF times a
 * divisor of K_H), MMV (output pixels per output word: MMV > 1 needs PAR = K_H*K_W*CF and
 * divides the output width), IPAR (input words per input word, a power of two dividing the
 * frame's words) and DEPTH (buffer words, a multiple of IPAR, at least the span of the MMV
 * windows (K_H-1)*IFM_W*CF + K_W*CF + (MMV-1)*S_W*CF plus IPAR-1, CF = CH/SIMD).
 *
 * Output order: for each output pixel (oy, ox) row-major, each kernel position (ky, kx)
 * row-major, each channel group cg: input word cg of pixel (oy*S_H + ky, ox*S_W + kx); an
 * output word carries PAR consecutive such words (lane i at bits [i*SIMD*BITS +: SIMD*BITS]),
 * read from PAR copies of the buffer as the RTL does; with MMV > 1 window m of a word sits at
 * bits [m*PAR*SIMD*BITS +: PAR*SIMD*BITS] (MMV*PAR copies). An input word carries IPAR
 * consecutive stream words. Input words after the last full window are read and dropped.
 *
 * Like the RTL, every input word is written in stream order into a circular buffer of DEPTH
 * words; the reader keeps the buffer address of the current window's first word (the base)
 * and fill = words written - base (signed: after a frame's last window the base jumps to the
 * next frame's first word, which may not be written yet). Word off = (ky*IFM_W + kx)*CF + cg
 * of the window can be read once off < fill; a word can be written while fill < DEPTH. One
 * loop iteration (II=1) writes at most one input word and reads at most one output word, each
 * only when its stream is ready (non-blocking), so the writer runs ahead into the next frame
 * and the module never blocks an input or output it could serve: max(in, out) cycles per
 * frame, like the RTL.
 */
template <class C>
void sliding_window(hls::stream<ap_uint<C::IPAR * C::SIMD * C::BITS> >& in,
                    hls::stream<ap_uint<C::MMV * C::PAR * C::SIMD * C::BITS> >& out,
                    unsigned n_frames) {
    FPGAGEN_HLS(INLINE)
    const unsigned W = C::SIMD * C::BITS;
    const unsigned CF = C::CH / C::SIMD;
    const unsigned KROW = C::K_W * CF;
    // lane groups: GR words of a kernel row per output word, RS whole kernel rows per word
    const unsigned GR = C::PAR <= KROW ? C::PAR : KROW;
    const unsigned RS = C::PAR <= KROW ? 1 : C::PAR / KROW;
    static_assert(KROW % C::PAR == 0 || (C::PAR % KROW == 0 && C::K_H % RS == 0),
                  "sliding_window: PAR must divide K_W*CH/SIMD or be whole kernel rows");
    const unsigned OFM_H = (C::IFM_H - C::K_H) / C::S_H + 1;
    const unsigned OFM_W = (C::IFM_W - C::K_W) / C::S_W + 1;
    const unsigned IN_WORDS = C::IFM_H * C::IFM_W * CF;
    const unsigned ROW_WORDS = C::IFM_W * CF;
    const unsigned LANES = C::MMV * C::PAR;
    // last lane's offset in a group
    const unsigned DMAX = (C::MMV - 1) * C::S_W * CF + (RS - 1) * ROW_WORDS + GR - 1;
    static_assert(C::MMV == 1 || C::PAR == C::K_H * KROW, "sliding_window: MMV needs whole windows");
    static_assert(C::DEPTH % C::IPAR == 0, "sliding_window: DEPTH must be a multiple of IPAR");
    // base steps (words): next group of MMV windows in the row, first group of the next row,
    // next frame
    const unsigned STEP_X = C::MMV * C::S_W * CF;
    const unsigned STEP_Y = (C::S_H * C::IFM_W - (OFM_W - C::MMV) * C::S_W) * CF;
    const unsigned LAST_BASE =
        ((OFM_H - 1) * C::S_H * C::IFM_W + (OFM_W - C::MMV) * C::S_W) * CF;
    const unsigned STEP_F = IN_WORDS - LAST_BASE;
    // the same steps modulo DEPTH (buffer addresses)
    const unsigned STEP_X_M = STEP_X % C::DEPTH;
    const unsigned STEP_Y_M = STEP_Y % C::DEPTH;
    const unsigned STEP_F_M = STEP_F % C::DEPTH;

    static ap_uint<W> buf[LANES][C::DEPTH];  // one copy per lane (one read port each)
    FPGAGEN_HLS(ARRAY_PARTITION variable=buf complete dim=1)
    FPGAGEN_HLS(ARRAY_PARTITION variable=buf cyclic factor=C::IPAR dim=2)
    FPGAGEN_HLS(DEPENDENCE variable=buf inter false)

    int fill = 0;            // words written - base
    unsigned waddr = 0;      // next write address
    unsigned baddr = 0;      // address of the window's first word
    unsigned in_f = 0, in_i = 0;   // frame, word of the next input word
    unsigned out_f = 0;            // frame of the next output word
    unsigned off = 0;        // offset of the next group's first word within the window
    unsigned run = 0;        // its word within the kernel row (0..KROW-GR, step GR)
    unsigned ky = 0, ox = 0, oy = 0;

    while (out_f < n_frames || in_f < n_frames) {
        FPGAGEN_HLS(PIPELINE II=1)
        bool progress = false;
        // reader: the next output word, if written already
        if (out_f < n_frames && static_cast<int>(off + DMAX) < fill && !out.full()) {
            ap_uint<LANES * W> y = 0;
            for (unsigned j = 0; j < LANES; j++) {
                FPGAGEN_HLS(UNROLL)
                const unsigned i = j % C::PAR;
                unsigned raddr =
                    baddr + off + (j / C::PAR) * C::S_W * CF + (i / GR) * ROW_WORDS + i % GR;
                if (raddr >= C::DEPTH) {
                    raddr -= C::DEPTH;
                }
                y(j * W + W - 1, j * W) = buf[j][raddr];
            }
            out.write(y);
            progress = true;
            unsigned step = 0, step_m = 0;
            if (run == KROW - GR) {
                run = 0;
                if (ky == C::K_H - RS) {  // the window is complete: move the base
                    ky = 0;
                    off = 0;
                    if (ox == OFM_W - C::MMV) {
                        ox = 0;
                        if (oy == OFM_H - 1) {
                            oy = 0;
                            step = STEP_F;
                            step_m = STEP_F_M;
                            out_f++;
                        } else {
                            oy++;
                            step = STEP_Y;
                            step_m = STEP_Y_M;
                        }
                    } else {
                        ox += C::MMV;
                        step = STEP_X;
                        step_m = STEP_X_M;
                    }
                } else {
                    ky += RS;
                    off += RS * ROW_WORDS - KROW + GR;
                }
            } else {
                run += GR;
                off += GR;
            }
            fill -= static_cast<int>(step);
            baddr += step_m;
            if (baddr >= C::DEPTH) {
                baddr -= C::DEPTH;
            }
        }
        // writer: the next input word, while the buffer has room
        if (in_f < n_frames && fill + static_cast<int>(C::IPAR) <= static_cast<int>(C::DEPTH) &&
            !in.empty()) {
            const ap_uint<C::IPAR * W> x = in.read();
            for (unsigned j = 0; j < LANES; j++) {
                FPGAGEN_HLS(UNROLL)
                for (unsigned k = 0; k < C::IPAR; k++) {
                    FPGAGEN_HLS(UNROLL)
                    buf[j][waddr + k] = x(k * W + W - 1, k * W);
                }
            }
            progress = true;
            waddr = (waddr + C::IPAR == C::DEPTH) ? 0 : waddr + C::IPAR;
            fill += C::IPAR;
            if (in_i + C::IPAR == IN_WORDS) {
                in_i = 0;
                in_f++;
            } else {
                in_i += C::IPAR;
            }
        }
#ifndef __SYNTHESIS__
        // C simulation runs the processes one after the other: the input is complete, so an
        // iteration without progress means a stream holds fewer words than it should
        if (!progress) {
            std::fprintf(stderr, "fpgagen::sliding_window: stalled (input has too few words)\n");
            return;
        }
#else
        (void)progress;
#endif
    }
}

/*! Constant border around n_frames feature maps.
 *
 * C provides (unsigned): IFM_H, IFM_W, CH, SIMD (divides CH), PAD_T, PAD_B, PAD_L, PAD_R,
 * BITS and PAD (the bit pattern of a border element, low BITS bits). Output frames are
 * (PAD_T + IFM_H + PAD_B) x (PAD_L + IFM_W + PAD_R) pixels; border words are SIMD copies of
 * PAD, inner words the input words in order. One output word per cycle (II=1).
 */
template <class C>
void fm_padding(hls::stream<ap_uint<C::SIMD * C::BITS> >& in,
                hls::stream<ap_uint<C::SIMD * C::BITS> >& out, unsigned n_frames) {
    FPGAGEN_HLS(INLINE)
    const unsigned W = C::SIMD * C::BITS;
    const unsigned CF = C::CH / C::SIMD;
    const unsigned OFM_H = C::PAD_T + C::IFM_H + C::PAD_B;
    const unsigned OFM_W = C::PAD_L + C::IFM_W + C::PAD_R;
    ap_uint<W> pad_word = 0;
    for (unsigned s = 0; s < C::SIMD; s++) {
        FPGAGEN_HLS(UNROLL)
        pad_word(s * C::BITS + C::BITS - 1, s * C::BITS) = ap_uint<C::BITS>(C::PAD);
    }
    // signed bounds: no always-true comparisons with zero pads (-Wtype-limits)
    const int TOP = C::PAD_T, LEFT = C::PAD_L;
    const int BOTTOM = C::PAD_T + C::IFM_H, RIGHT = C::PAD_L + C::IFM_W;
    unsigned cg = 0;
    int px = 0, py = 0;
    for (unsigned f = 0; f < n_frames; f++) {
        for (unsigned i = 0; i < OFM_H * OFM_W * CF; i++) {
            FPGAGEN_HLS(PIPELINE II=1)
            const bool inside = py >= TOP && py < BOTTOM && px >= LEFT && px < RIGHT;
            ap_uint<W> y = pad_word;
            if (inside) {
                y = in.read();
            }
            out.write(y);
            if (cg == CF - 1) {
                cg = 0;
                if (px == static_cast<int>(OFM_W) - 1) {
                    px = 0;
                    py = (py == static_cast<int>(OFM_H) - 1) ? 0 : py + 1;
                } else {
                    px++;
                }
            } else {
                cg++;
            }
        }
    }
}

}  // namespace fpgagen

#endif  // FPGAGEN_WINDOW_H
