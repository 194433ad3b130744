// fpgagen HLS library: pooling (window max/sum, global sum) and top-K label selection.
//
// Element encodings as in streams.h. The pooling functions see a BIPOLAR stream as 1-bit
// unsigned elements (like rtl/pool.v with IN_BITS = 1, IN_SIGNED = 0): max is OR, sum counts
// the +1 elements. They reproduce rtl/pool.v, rtl/global_acc_pool.v and rtl/label_select.v
// word for word.
#ifndef FPGAGEN_POOL_H
#define FPGAGEN_POOL_H

#include "streams.h"

namespace fpgagen {

//! An element of IN_BITS bits sign- (SIGNED) or zero-extended to OUT_BITS bits.
template <int IN_BITS, int OUT_BITS, int SIGNED>
ap_uint<OUT_BITS> extend_element(const ap_uint<IN_BITS>& raw) {
    FPGAGEN_HLS(INLINE)
    ap_uint<OUT_BITS> r;
    if (SIGNED) {
        const ap_int<IN_BITS> s = raw;
        const ap_int<OUT_BITS> e = s;
        r = e;
    } else {
        r = raw;
    }
    return r;
}

/*! Per-channel max or sum over windows, n_frames frames of NV output pixels.
 *
 * C provides (unsigned): CH, PE (divides CH), K (window elements), NV (output pixels per
 * frame), IN_BITS, IN_SIGNED (0/1), OUT_BITS (>= IN_BITS), MODE (0: max, 1: sum modulo
 * 2^OUT_BITS). Per output pixel: K*CF input words (window position outer, channel group
 * inner, CF = CH/PE) in, CF words of PE results out. Inputs are extended to OUT_BITS first.
 * The partial results of the CF channel groups live in a CF-word memory; one input word per
 * cycle (II=1).
 */
template <class C>
void pool(hls::stream<ap_uint<C::PE * C::IN_BITS> >& in,
          hls::stream<ap_uint<C::PE * C::OUT_BITS> >& out, unsigned n_frames) {
    FPGAGEN_HLS(INLINE)
    const unsigned CF = C::CH / C::PE;
    const unsigned OW = C::PE * C::OUT_BITS;
    static ap_uint<OW> part[CF];
    FPGAGEN_HLS(BIND_STORAGE variable=part type=ram_2p impl=lutram)
    unsigned cg = 0, k = 0;
    for (unsigned f = 0; f < n_frames; f++) {
        for (unsigned i = 0; i < C::NV * C::K * CF; i++) {
            FPGAGEN_HLS(PIPELINE II=1)
            const ap_uint<C::PE * C::IN_BITS> x = in.read();
            const ap_uint<OW> a = part[cg];
            ap_uint<OW> y = 0;
            for (unsigned p = 0; p < C::PE; p++) {
                FPGAGEN_HLS(UNROLL)
                const ap_uint<C::OUT_BITS> xe =
                    extend_element<C::IN_BITS, C::OUT_BITS, C::IN_SIGNED>(
                        element<C::IN_BITS>(x, p));
                const ap_uint<C::OUT_BITS> ae = element<C::OUT_BITS>(a, p);
                ap_uint<C::OUT_BITS> r;
                if (k == 0) {
                    r = xe;
                } else if (C::MODE == 1) {
                    r = ae + xe;  // modulo 2^OUT_BITS
                } else if (C::IN_SIGNED) {
                    const ap_int<C::OUT_BITS> as = ae, xs = xe;
                    r = (as > xs) ? ae : xe;
                } else {
                    r = (ae > xe) ? ae : xe;
                }
                y(p * C::OUT_BITS + C::OUT_BITS - 1, p * C::OUT_BITS) = r;
            }
            part[cg] = y;
            if (k == C::K - 1) {
                out.write(y);
            }
            if (cg == CF - 1) {
                cg = 0;
                k = (k == C::K - 1) ? 0 : k + 1;
            } else {
                cg++;
            }
        }
    }
}

/*! Per-channel sum over all N_PIX pixels of each of n_frames frames.
 *
 * C provides (unsigned): N_PIX, CH, PE, IN_BITS, IN_SIGNED, OUT_BITS. This is pool() with
 * MODE = 1, K = N_PIX and one output pixel (a frame is one window), like the RTL.
 */
template <class C>
struct GlobalAccPoolAsPool {
    static const unsigned CH = C::CH;
    static const unsigned PE = C::PE;
    static const unsigned K = C::N_PIX;
    static const unsigned NV = 1;
    static const unsigned IN_BITS = C::IN_BITS;
    static const unsigned IN_SIGNED = C::IN_SIGNED;
    static const unsigned OUT_BITS = C::OUT_BITS;
    static const unsigned MODE = 1;
};

template <class C>
void global_acc_pool(hls::stream<ap_uint<C::PE * C::IN_BITS> >& in,
                     hls::stream<ap_uint<C::PE * C::OUT_BITS> >& out, unsigned n_frames) {
    FPGAGEN_HLS(INLINE)
    pool<GlobalAccPoolAsPool<C> >(in, out, n_frames);
}

/*! Indices of the K largest of CH scores per frame, in descending order of score, ties to
 * the lower index (a stable sort of -score).
 *
 * C provides: CH, PE (divides CH), K (1..CH), IN_BITS, IDX_BITS (unsigned), IN_KIND (Kind).
 * Per frame: CF = CH/PE words of PE scores in, K words of one IDX_BITS-bit index out.
 * A sorted list of K (score, index) entries is kept in registers; each input word inserts its
 * PE scores in index order, each after every entry >= it (one word per cycle, II=1), then the
 * K indices leave (one per cycle): CF + K cycles per frame.
 */
template <class C>
void label_select(hls::stream<ap_uint<C::PE * C::IN_BITS> >& in,
                  hls::stream<ap_uint<C::IDX_BITS> >& out, unsigned n_frames) {
    FPGAGEN_HLS(INLINE)
    const unsigned CF = C::CH / C::PE;
    ap_int<C::IN_BITS + 1> key[C::K];
    ap_uint<C::IDX_BITS> idx[C::K];
    bool vld[C::K];
    FPGAGEN_HLS(ARRAY_PARTITION variable=key complete)
    FPGAGEN_HLS(ARRAY_PARTITION variable=idx complete)
    FPGAGEN_HLS(ARRAY_PARTITION variable=vld complete)
    for (unsigned f = 0; f < n_frames; f++) {
        for (unsigned i = 0; i < C::K; i++) {
            FPGAGEN_HLS(UNROLL)
            key[i] = 0;
            idx[i] = 0;
            vld[i] = false;
        }
        for (unsigned cg = 0; cg < CF; cg++) {
            FPGAGEN_HLS(PIPELINE II=1)
            const ap_uint<C::PE * C::IN_BITS> x = in.read();
            for (unsigned p = 0; p < C::PE; p++) {
                FPGAGEN_HLS(UNROLL)
                const ap_int<C::IN_BITS + 1> v =
                    element_value<C::IN_KIND, C::IN_BITS>(element<C::IN_BITS>(x, p));
                const ap_uint<C::IDX_BITS> id = cg * C::PE + p;
                bool ge[C::K];
                for (unsigned j = 0; j < C::K; j++) {
                    FPGAGEN_HLS(UNROLL)
                    ge[j] = vld[j] && key[j] >= v;
                }
                // entries keep their place above the insertion point, shift down below it
                for (unsigned j = C::K; j-- > 0;) {
                    FPGAGEN_HLS(UNROLL)
                    if (!ge[j]) {
                        if (j == 0 || ge[j - 1]) {
                            key[j] = v;
                            idx[j] = id;
                            vld[j] = true;
                        } else {
                            key[j] = key[j - 1];
                            idx[j] = idx[j - 1];
                            vld[j] = vld[j - 1];
                        }
                    }
                }
            }
        }
        for (unsigned i = 0; i < C::K; i++) {
            FPGAGEN_HLS(PIPELINE II=1)
            out.write(idx[i]);
        }
    }
}

}  // namespace fpgagen

#endif  // FPGAGEN_POOL_H
