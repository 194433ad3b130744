// fpgagen HLS library: vector-vector-activation unit (VVAU), a depthwise convolution (one
// K-element filter per channel) after a sliding window with SIMD = PE.
//
// Per output pixel the input carries K*CF words (window position kpos outer, channel group cg
// inner, CF = CH/PE; element p of a word is channel cg*PE + p); channel c accumulates
// acc[c] = sum_kpos x[kpos][c] * w[kpos][c] with the MVAU's arithmetic (mvau.h: XNOR counting
// for BIPOLAR x BIPOLAR, add/subtract with one BIPOLAR operand, integer products otherwise, in
// ACC_BITS two's complement). After the last window position of group cg, one word of PE
// outputs leaves: thresholds applied (N_THRES > 0) or the raw accumulator. One input word per
// cycle (II=1): K*CF cycles per pixel, like rtl/vvau.v.
//
// Weight memory word kpos*CF + cg holds, for PE p, the weight of channel cg*PE + p at window
// position kpos at bits [p*W_BITS +: W_BITS]; threshold word cg is the MVAU layout with
// NF = CF (the RTL's .mem files line for line), both split into PE slices like mvau.h.
#ifndef FPGAGEN_VVAU_H
#define FPGAGEN_VVAU_H

#include "mvau.h"

namespace fpgagen {

//! The one-element dot product of mvau_dot (SIMD = 1) with the VVAU's types.
template <class C>
struct VvauDot {
    static const unsigned SIMD = 1;
    static const int IN_KIND = C::IN_KIND;
    static const unsigned IN_BITS = C::IN_BITS;
    static const int W_KIND = C::W_KIND;
    static const unsigned W_BITS = C::W_BITS;
    static const unsigned ACC_BITS = C::ACC_BITS;
};

/*! VVAU over n_frames frames of NV output pixels.
 *
 * C provides: CH, PE, K, NV (unsigned); IN_KIND, W_KIND (Kind); IN_BITS, W_BITS, ACC_BITS,
 * N_THRES (0: raw accumulator out), OUT_BITS; OUT_BIAS (int); W_CB, W_NC and typedef
 * w_chunk_t (one PE's weight as chunks); T_ROWS (CF, or 1 without thresholds), T_CB, T_NC and
 * typedef t_chunk_t (one PE's thresholds as chunks). weights: the K*CF-line table
 * w_chunk_t[K*CF][PE][W_NC] (ROM or loaded URAM) or an external weight stream (mvau.h
 * fetch_weights).
 */
template <class C, class WS>
void vvau(hls::stream<ap_uint<C::PE * C::IN_BITS> >& in,
          hls::stream<ap_uint<C::PE * C::OUT_BITS> >& out, WS& weights,
          const typename C::t_chunk_t thresholds[C::T_ROWS][C::PE][C::T_NC], unsigned n_frames) {
    FPGAGEN_HLS(INLINE)
    const unsigned CF = C::CH / C::PE;
    const int TW = MvauThresholdWord<C>::BITS;

    static ap_int<C::ACC_BITS> acc[CF][C::PE];  // partial sums of the channel groups
    FPGAGEN_HLS(ARRAY_PARTITION variable=acc complete dim=2)

    unsigned cg = 0, kpos = 0, widx = 0;
    for (unsigned f = 0; f < n_frames; f++) {
        for (unsigned i = 0; i < C::NV * C::K * CF; i++) {
            FPGAGEN_HLS(PIPELINE II=1)
            const ap_uint<C::PE * C::IN_BITS> x = in.read();
            const unsigned row = C::N_THRES > 0 ? cg : 0;
            ap_uint<C::PE * C::OUT_BITS> y = 0;
            typename C::w_chunk_t wl[C::PE][C::W_NC];  // this step's weight memory line
            FPGAGEN_HLS(ARRAY_PARTITION variable=wl complete dim=0)
            fetch_weights<C>(weights, widx, wl);
            for (unsigned p = 0; p < C::PE; p++) {
                FPGAGEN_HLS(UNROLL)
                const ap_uint<C::W_BITS> w = load_word<C::W_BITS, C::W_CB, C::W_NC>(wl[p]);
                const ap_int<C::ACC_BITS> part =
                    mvau_dot<VvauDot<C> >(element<C::IN_BITS>(x, p), w);
                const ap_int<C::ACC_BITS> a =
                    (kpos == 0) ? part : ap_int<C::ACC_BITS>(acc[cg][p] + part);
                acc[cg][p] = a;
                const ap_uint<TW> tw = load_word<TW, C::T_CB, C::T_NC>(thresholds[row][p]);
                y(p * C::OUT_BITS + C::OUT_BITS - 1, p * C::OUT_BITS) =
                    MvauActivation<C>::apply(a, tw);
            }
            if (kpos == C::K - 1) {
                out.write(y);
            }
            widx = (widx == C::K * CF - 1) ? 0 : widx + 1;
            if (cg == CF - 1) {
                cg = 0;
                kpos = (kpos == C::K - 1) ? 0 : kpos + 1;
            } else {
                cg++;
            }
        }
    }
}

}  // namespace fpgagen

#endif  // FPGAGEN_VVAU_H
