// fpgagen HLS library: multi-threshold activation.
//
// out[c] = OUT_BIAS + #{k : x[c] >= T[c][k]}, encoded in OUT_BITS bits (for a BIPOLAR output:
// one threshold, OUT_BIAS = 0, the count is the bit). Threshold memory word nf holds, for PE p,
// threshold k of channel nf*PE + p at bits [(p*N_THRES + k)*T_BITS +: T_BITS] (two's complement),
// exactly like the RTL's <layer>_thresholds.mem; the tables store it split into PE slices of
// N_THRES*T_BITS bits, thresholds[nf][p].
#ifndef FPGAGEN_THRESHOLDING_H
#define FPGAGEN_THRESHOLDING_H

#include "streams.h"

namespace fpgagen {

//! #{k < N : v >= T_k} for the N thresholds of TB bits starting at threshold BASE of word tw.
template <int N, int TB, int TW, int VB>
ap_uint<17> threshold_count(const ap_int<VB>& v, const ap_uint<TW>& tw, unsigned base) {
    FPGAGEN_HLS(INLINE)
    ap_uint<17> cnt = 0;
    for (int k = 0; k < N; k++) {
        FPGAGEN_HLS(UNROLL)
        const ap_uint<TB> raw = tw((base + k) * TB + TB - 1, (base + k) * TB);
        const ap_int<TB> t = raw;
        if (v >= t) {
            cnt++;
        }
    }
    return cnt;
}

//! OUT_BIAS + count, as OUT_BITS bits (two's complement for a negative bias).
template <int OUT_BITS, int OUT_BIAS>
ap_uint<OUT_BITS> encode_count(const ap_uint<17>& cnt) {
    FPGAGEN_HLS(INLINE)
    ap_int<40> v = cnt;
    v += OUT_BIAS;
    const ap_uint<OUT_BITS> r = v;  // keep the low OUT_BITS bits
    return r;
}

/*! Standalone thresholding of n_frames frames of NV vectors of CH channels, PE per word.
 *
 * C provides: CH, PE, NV (unsigned); IN_KIND (Kind), IN_BITS; T_BITS, N_THRES (>= 1);
 * OUT_BIAS (int), OUT_BITS; T_CB, T_NC and typedef t_chunk_t (one PE's thresholds as T_NC
 * chunks of T_CB bits).
 * One word per cycle (II=1): NV*CH/PE cycles per frame.
 */
template <class C>
void thresholding(hls::stream<ap_uint<C::PE * C::IN_BITS> >& in,
                  hls::stream<ap_uint<C::PE * C::OUT_BITS> >& out,
                  const typename C::t_chunk_t thresholds[C::CH / C::PE][C::PE][C::T_NC],
                  unsigned n_frames) {
    FPGAGEN_HLS(INLINE)
    const unsigned NF = C::CH / C::PE;
    const unsigned TW = C::N_THRES * C::T_BITS;
    unsigned nf = 0;
    for (unsigned f = 0; f < n_frames; f++) {
        for (unsigned i = 0; i < C::NV * NF; i++) {
            FPGAGEN_HLS(PIPELINE II=1)
            const ap_uint<C::PE * C::IN_BITS> x = in.read();
            ap_uint<C::PE * C::OUT_BITS> y = 0;
            for (unsigned p = 0; p < C::PE; p++) {
                FPGAGEN_HLS(UNROLL)
                const ap_int<C::IN_BITS + 1> v =
                    element_value<C::IN_KIND, C::IN_BITS>(element<C::IN_BITS>(x, p));
                const ap_uint<TW> tw = load_word<TW, C::T_CB, C::T_NC>(thresholds[nf][p]);
                const ap_uint<17> cnt = threshold_count<C::N_THRES, C::T_BITS>(v, tw, 0);
                y(p * C::OUT_BITS + C::OUT_BITS - 1, p * C::OUT_BITS) =
                    encode_count<C::OUT_BITS, C::OUT_BIAS>(cnt);
            }
            out.write(y);
            nf = (nf == NF - 1) ? 0 : nf + 1;
        }
    }
}

}  // namespace fpgagen

#endif  // FPGAGEN_THRESHOLDING_H
