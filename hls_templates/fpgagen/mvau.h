// fpgagen HLS library: matrix-vector-activation unit (MVAU).
//
// For each input vector x (MW elements, SIMD per input word) the MVAU computes the MH
// accumulators acc = W x and emits them (PE per output word) either raw (signed ACC_BITS) or
// through multi-thresholds (see thresholding.h). Folding: NF = MH/PE neuron folds, SF = MW/SIMD
// synapse folds; one (nf, sf) step per cycle (II=1), NF*SF cycles per vector. The SF input words
// of a vector are read during nf = 0 and replayed from a buffer for nf > 0, like the RTL.
//
// Arithmetic (docs/conventions.md):
//   * BIPOLAR x BIPOLAR: XNOR-popcount, acc = #{s : x_s == w_s} in [0, MW];
//   * one operand BIPOLAR: the other operand is added (+1) or subtracted (-1);
//   * otherwise signed/unsigned integer products summed in ACC_BITS two's complement.
//
// Grouped MVAU (mvau_grouped; SYQ per-kernel-pixel weight scales, as rtl/mvau.v with
// MULT_BITS > 0): the MW columns form GROUPS groups of MW/GROUPS consecutive columns, SIMD divides
// MW/GROUPS, and a step's dot product (for XNOR the signed +-1 sum 2*popcount - SIMD) is
// multiplied by the unsigned multiplier mults[nf*GROUPS + g][p] of its group g = sf/(SF/GROUPS)
// before it is accumulated: acc[o] = sum_g m[o, g] * sum_{k in g} w[o,k] x[k], signed, in
// ACC_BITS two's complement (exact whenever the final value fits, like the RTL's wrap).
//
// Weight memory word nf*SF + sf holds, for PE p, SIMD element s, the weight of output
// nf*PE + p and input sf*SIMD + s at bits [(p*SIMD + s)*W_BITS +: W_BITS] (the RTL's
// <layer>_weights.mem line for line); the tables store it split into PE slices of SIMD*W_BITS
// bits, weights[nf*SF + sf][p], so no ap_uint wider than one PE's slice is needed.
#ifndef FPGAGEN_MVAU_H
#define FPGAGEN_MVAU_H

#include "streams.h"
#include "thresholding.h"

namespace fpgagen {

//! Partial dot product of one SIMD-wide input word with one PE's SIMD weights.
template <class C>
ap_int<C::ACC_BITS> mvau_dot(const ap_uint<C::SIMD * C::IN_BITS>& x,
                             const ap_uint<C::SIMD * C::W_BITS>& w) {
    FPGAGEN_HLS(INLINE)
    ap_int<C::ACC_BITS> sum = 0;
    if (C::IN_KIND == KIND_BIPOLAR && C::W_KIND == KIND_BIPOLAR) {
        const ap_uint<C::SIMD> agree = ~(x ^ w);
        for (unsigned s = 0; s < C::SIMD; s++) {
            FPGAGEN_HLS(UNROLL)
            if (agree[s]) {
                sum++;
            }
        }
    } else {
        for (unsigned s = 0; s < C::SIMD; s++) {
            FPGAGEN_HLS(UNROLL)
            const ap_uint<C::IN_BITS> xr = element<C::IN_BITS>(x, s);
            const ap_uint<C::W_BITS> wr = element<C::W_BITS>(w, s);
            if (C::W_KIND == KIND_BIPOLAR) {
                const ap_int<C::IN_BITS + 1> xv = element_value<C::IN_KIND, C::IN_BITS>(xr);
                if (wr[0]) {
                    sum += xv;
                } else {
                    sum -= xv;
                }
            } else if (C::IN_KIND == KIND_BIPOLAR) {
                const ap_int<C::W_BITS + 1> wv = element_value<C::W_KIND, C::W_BITS>(wr);
                if (xr[0]) {
                    sum += wv;
                } else {
                    sum -= wv;
                }
            } else {
                const ap_int<C::IN_BITS + 1> xv = element_value<C::IN_KIND, C::IN_BITS>(xr);
                const ap_int<C::W_BITS + 1> wv = element_value<C::W_KIND, C::W_BITS>(wr);
                sum += xv * wv;
            }
        }
    }
    return sum;
}

//! Partial dot product of one input word, already split into SIMD elements, with one PE's
//! SIMD weights taken straight from their table chunks (the non-XNOR modes; see split_word).
template <class C>
ap_int<C::ACC_BITS> mvau_dot_elems(const ap_uint<C::IN_BITS> x[C::SIMD],
                                   const typename C::w_chunk_t chunks[C::W_NC]) {
    FPGAGEN_HLS(INLINE)
    ap_uint<C::W_BITS> w[C::SIMD];
    FPGAGEN_HLS(ARRAY_PARTITION variable=w complete)
    split_chunks<C::W_BITS, C::SIMD, C::W_CB, C::W_NC>(chunks, w);
    ap_int<C::ACC_BITS> sum = 0;
    for (unsigned s = 0; s < C::SIMD; s++) {
        FPGAGEN_HLS(UNROLL)
        if (C::W_KIND == KIND_BIPOLAR) {
            const ap_int<C::IN_BITS + 1> xv = element_value<C::IN_KIND, C::IN_BITS>(x[s]);
            if (w[s][0]) {
                sum += xv;
            } else {
                sum -= xv;
            }
        } else if (C::IN_KIND == KIND_BIPOLAR) {
            const ap_int<C::W_BITS + 1> wv = element_value<C::W_KIND, C::W_BITS>(w[s]);
            if (x[s][0]) {
                sum += wv;
            } else {
                sum -= wv;
            }
        } else {
            const ap_int<C::IN_BITS + 1> xv = element_value<C::IN_KIND, C::IN_BITS>(x[s]);
            const ap_int<C::W_BITS + 1> wv = element_value<C::W_KIND, C::W_BITS>(w[s]);
            sum += xv * wv;
        }
    }
    return sum;
}

//! One PE's partial sum for one step: XNOR-popcount on whole words, or element products on
//! the split input word (each mode instantiates only its own code).
template <class C, bool XNOR = (C::IN_KIND == KIND_BIPOLAR && C::W_KIND == KIND_BIPOLAR)>
struct MvauPe {
    static const unsigned SPLIT = C::SIMD;  //!< elements of the split input word
    static void split(const ap_uint<C::SIMD * C::IN_BITS>& x, ap_uint<C::IN_BITS> xe[SPLIT]) {
        FPGAGEN_HLS(INLINE)
        split_word<C::IN_BITS, C::SIMD>(x, xe);
    }
    static ap_int<C::ACC_BITS> dot(const ap_uint<C::SIMD * C::IN_BITS>&,
                                   const ap_uint<C::IN_BITS> xe[SPLIT],
                                   const typename C::w_chunk_t chunks[C::W_NC]) {
        FPGAGEN_HLS(INLINE)
        return mvau_dot_elems<C>(xe, chunks);
    }
};

template <class C>
struct MvauPe<C, true> {
    static const unsigned SPLIT = 1;  //!< unused: XNOR works on whole words
    static void split(const ap_uint<C::SIMD * C::IN_BITS>&, ap_uint<C::IN_BITS>[SPLIT]) {}
    static ap_int<C::ACC_BITS> dot(const ap_uint<C::SIMD * C::IN_BITS>& x,
                                   const ap_uint<C::IN_BITS>[SPLIT],
                                   const typename C::w_chunk_t chunks[C::W_NC]) {
        FPGAGEN_HLS(INLINE)
        const unsigned PE_W = C::SIMD * C::W_BITS;
        const ap_uint<PE_W> w = load_word<PE_W, C::W_CB, C::W_NC>(chunks);
        return mvau_dot<C>(x, w);
    }
};

/*! Weight sources of an MVAU/VVAU step: the weight memory line the step uses, as PE slices of
 * W_NC chunks (C::w_chunk_t, LSBs first), from
 *   - a table (the ROM of on-chip weights, or the URAM loaded by load_weights): line widx;
 *   - a weight stream (ram_style external): the next word of the stream, which carries the
 *     memory lines in the order the steps use them, once per input vector (the stream the
 *     kernel reads from the weight buffer; docs/kernel.md "External weights").
 * A stream word is the memory line of B = PE * slice bits, PE p at bits [p*slice +: slice].
 */
template <class C, class T>
void fetch_weights(T (*table)[C::PE][C::W_NC], unsigned widx,
                   typename C::w_chunk_t w[C::PE][C::W_NC]) {
    FPGAGEN_HLS(INLINE)
    for (unsigned p = 0; p < C::PE; p++) {
        FPGAGEN_HLS(UNROLL)
        for (unsigned j = 0; j < C::W_NC; j++) {
            FPGAGEN_HLS(UNROLL)
            w[p][j] = table[widx][p][j];
        }
    }
}

template <class C, int B>
void fetch_weights(hls::stream<ap_uint<B> >& s, unsigned,
                   typename C::w_chunk_t w[C::PE][C::W_NC]) {
    FPGAGEN_HLS(INLINE)
    const int SLICE = B / C::PE;
    const ap_uint<B> word = s.read();
    for (int p = 0; p < int(C::PE); p++) {
        FPGAGEN_HLS(UNROLL)
        for (int j = 0; j < int(C::W_NC); j++) {
            FPGAGEN_HLS(UNROLL)
            const int lo = p * SLICE + j * int(C::W_CB);
            const int end = lo + int(C::W_CB) < (p + 1) * SLICE ? lo + int(C::W_CB) : (p + 1) * SLICE;
            w[p][j] = static_cast<typename C::w_chunk_t>(word(end - 1, lo).to_uint64());
        }
    }
}

/*! Load the D lines of a weight table (the UltraRAM of a ram_style ultra layer) from the
 * weight stream, line 0 first: what the RTL kernel's loader writes through s_wgt. */
template <class C, int D, int B>
void load_weights(hls::stream<ap_uint<B> >& s, typename C::w_chunk_t table[D][C::PE][C::W_NC]) {
    FPGAGEN_HLS(INLINE)
    for (int i = 0; i < D; i++) {
        FPGAGEN_HLS(PIPELINE II=1)
        fetch_weights<C, B>(s, 0, table[i]);
    }
}

//! Bits of one PE's slice of a threshold memory word (1 when the MVAU has no thresholds).
template <class C>
struct MvauThresholdWord {
    static const int BITS = C::N_THRES > 0 ? C::N_THRES * C::ACC_BITS : 1;
};

//! Output of one PE: thresholds applied (N_THRES > 0) or the raw accumulator.
template <class C, bool HAS_THRESHOLDS = (C::N_THRES > 0)>
struct MvauActivation {
    static ap_uint<C::OUT_BITS> apply(const ap_int<C::ACC_BITS>& acc,
                                      const ap_uint<MvauThresholdWord<C>::BITS>& tw) {
    FPGAGEN_HLS(INLINE)
        const ap_uint<17> cnt = threshold_count<C::N_THRES, C::ACC_BITS>(acc, tw, 0);
        return encode_count<C::OUT_BITS, C::OUT_BIAS>(cnt);
    }
};

template <class C>
struct MvauActivation<C, false> {
    static ap_uint<C::OUT_BITS> apply(const ap_int<C::ACC_BITS>& acc,
                                      const ap_uint<MvauThresholdWord<C>::BITS>&) {
    FPGAGEN_HLS(INLINE)
        const ap_uint<C::OUT_BITS> r = acc;  // OUT_BITS == ACC_BITS: the two's complement bits
        return r;
    }
};

//! Group multipliers of a grouped MVAU: what a step adds to a PE's accumulator.
template <class C, bool GROUPED>
struct MvauGroups {
    static const unsigned ROWS = (C::MH / C::PE) * C::GROUPS;  //!< multiplier table lines
    static const unsigned STEPS = (C::MW / C::GROUPS) / C::SIMD;  //!< steps per group
    static const unsigned NC = C::M_NC;
    typedef typename C::m_chunk_t chunk_t;
    static ap_int<C::ACC_BITS> scale(const ap_int<C::ACC_BITS>& part, const chunk_t m[NC]) {
        FPGAGEN_HLS(INLINE)
        const bool xnor = C::IN_KIND == KIND_BIPOLAR && C::W_KIND == KIND_BIPOLAR;
        // XNOR: the popcount -> the signed sum of the SIMD +-1 products (modulo 2^ACC_BITS)
        const ap_int<C::ACC_BITS> dot =
            xnor ? ap_int<C::ACC_BITS>(ap_int<C::ACC_BITS + 2>(part) * 2 - int(C::SIMD)) : part;
        const ap_uint<C::MULT_BITS> mv = load_word<C::MULT_BITS, C::M_CB, C::M_NC>(m);
        const ap_int<C::ACC_BITS> r = dot * mv;  // the low ACC_BITS bits, as the RTL
        return r;
    }
};

template <class C>
struct MvauGroups<C, false> {
    static const unsigned ROWS = 1;
    static const unsigned STEPS = C::MW / C::SIMD;
    static const unsigned NC = 1;
    typedef uint8_t chunk_t;
    static ap_int<C::ACC_BITS> scale(const ap_int<C::ACC_BITS>& part, const chunk_t[NC]) {
        FPGAGEN_HLS(INLINE)
        return part;
    }
};

//! The schedule shared by mvau and mvau_grouped (see there).
template <class C, bool GROUPED, class WS>
void mvau_run(hls::stream<ap_uint<C::SIMD * C::IN_BITS> >& in,
              hls::stream<ap_uint<C::PE * C::OUT_BITS> >& out, WS& weights,
              const typename MvauGroups<C, GROUPED>::chunk_t
                  mults[MvauGroups<C, GROUPED>::ROWS][C::PE][MvauGroups<C, GROUPED>::NC],
              const typename C::t_chunk_t thresholds[C::T_ROWS][C::PE][C::T_NC],
              unsigned n_frames) {
    FPGAGEN_HLS(INLINE)
    typedef MvauGroups<C, GROUPED> G;
    const unsigned NF = C::MH / C::PE;
    const unsigned SF = C::MW / C::SIMD;
    const unsigned IN_W = C::SIMD * C::IN_BITS;
    const int TW = MvauThresholdWord<C>::BITS;

    static ap_uint<IN_W> ibuf[SF];  // the current vector, replayed for nf > 0
    static ap_int<C::ACC_BITS> acc[C::PE];
    FPGAGEN_HLS(ARRAY_PARTITION variable=acc complete dim=1)

    unsigned nf = 0, sf = 0, widx = 0, midx = 0, gstep = 0;
    for (unsigned f = 0; f < n_frames; f++) {
        for (unsigned i = 0; i < C::NV * NF * SF; i++) {
            FPGAGEN_HLS(PIPELINE II=1)
            ap_uint<IN_W> x;
            if (nf == 0) {
                x = in.read();
                ibuf[sf] = x;
            } else {
                x = ibuf[sf];
            }
            ap_uint<C::IN_BITS> xe[MvauPe<C>::SPLIT];  // the input elements (non-XNOR modes)
            FPGAGEN_HLS(ARRAY_PARTITION variable=xe complete)
            MvauPe<C>::split(x, xe);
            typename C::w_chunk_t wl[C::PE][C::W_NC];  // this step's weight memory line
            FPGAGEN_HLS(ARRAY_PARTITION variable=wl complete dim=0)
            fetch_weights<C>(weights, widx, wl);
            for (unsigned p = 0; p < C::PE; p++) {
                FPGAGEN_HLS(UNROLL)
                const ap_int<C::ACC_BITS> part =
                    G::scale(MvauPe<C>::dot(x, xe, wl[p]), mults[midx][p]);
                if (sf == 0) {
                    acc[p] = part;
                } else {
                    acc[p] += part;
                }
            }
            if (sf == SF - 1) {
                const unsigned row = C::N_THRES > 0 ? nf : 0;
                ap_uint<C::PE * C::OUT_BITS> y = 0;
                for (unsigned p = 0; p < C::PE; p++) {
                    FPGAGEN_HLS(UNROLL)
                    const ap_uint<TW> tw = load_word<TW, C::T_CB, C::T_NC>(thresholds[row][p]);
                    y(p * C::OUT_BITS + C::OUT_BITS - 1, p * C::OUT_BITS) =
                        MvauActivation<C>::apply(acc[p], tw);
                }
                out.write(y);
                sf = 0;
                nf = (nf == NF - 1) ? 0 : nf + 1;
            } else {
                sf++;
            }
            widx = (widx == NF * SF - 1) ? 0 : widx + 1;
            if (gstep == G::STEPS - 1) {  // next group (line nf*GROUPS + g)
                gstep = 0;
                midx = (midx == G::ROWS - 1) ? 0 : midx + 1;
            } else {
                gstep++;
            }
        }
    }
}

/*! MVAU over n_frames frames of NV vectors.
 *
 * C provides: MW, MH, SIMD, PE, NV (unsigned); IN_KIND, W_KIND (Kind); IN_BITS, W_BITS,
 * ACC_BITS, N_THRES (0: raw accumulator out), OUT_BITS; OUT_BIAS (int); W_CB, W_NC and
 * typedef w_chunk_t (one PE's weight slice as W_NC chunks of W_CB bits); T_ROWS (NF, or 1
 * without thresholds), T_CB, T_NC and typedef t_chunk_t (one PE's thresholds as chunks).
 * weights: the NF*SF-line weight table w_chunk_t[NF*SF][PE][W_NC] (ROM or loaded URAM), or
 * the weight stream of an external layer (see fetch_weights).
 */
template <class C, class WS>
void mvau(hls::stream<ap_uint<C::SIMD * C::IN_BITS> >& in,
          hls::stream<ap_uint<C::PE * C::OUT_BITS> >& out, WS& weights,
          const typename C::t_chunk_t thresholds[C::T_ROWS][C::PE][C::T_NC], unsigned n_frames) {
    FPGAGEN_HLS(INLINE)
    static const uint8_t no_mults[1][C::PE][1] = {};
    mvau_run<C, false>(in, out, weights, no_mults, thresholds, n_frames);
}

/*! Grouped MVAU (group multipliers) over n_frames frames of NV vectors.
 *
 * C provides what mvau needs and GROUPS, MULT_BITS, M_CB, M_NC (unsigned) and typedef
 * m_chunk_t: mults[nf*GROUPS + g][p] is the multiplier of output nf*PE + p and group g as
 * M_NC chunks of M_CB bits (the RTL's <layer>_mults.mem line for line).
 */
template <class C, class WS>
void mvau_grouped(hls::stream<ap_uint<C::SIMD * C::IN_BITS> >& in,
                  hls::stream<ap_uint<C::PE * C::OUT_BITS> >& out, WS& weights,
                  const typename C::m_chunk_t mults[(C::MH / C::PE) * C::GROUPS][C::PE][C::M_NC],
                  const typename C::t_chunk_t thresholds[C::T_ROWS][C::PE][C::T_NC],
                  unsigned n_frames) {
    FPGAGEN_HLS(INLINE)
    mvau_run<C, true>(in, out, weights, mults, thresholds, n_frames);
}

}  // namespace fpgagen

#endif  // FPGAGEN_MVAU_H
