// fpgagen HLS library: stream branching for residual blocks, a fork (one stream into two
// identical ones) and a join (elementwise sum of two streams). Each is one DATAFLOW process
// with two output or two input streams, like rtl/duplicate_stream.v and rtl/add_streams.v.
#ifndef FPGAGEN_BRANCH_H
#define FPGAGEN_BRANCH_H

#include "streams.h"
#include "pool.h"

namespace fpgagen {

/*! Fork: every input word goes to both outputs, WORDS words per frame, one per cycle (II=1).
 *
 * C provides (unsigned): WIDTH (word bits), WORDS (words per frame). The outputs run in
 * lockstep: a word is read when both outputs take it (their stream depths are the slack).
 */
template <class C>
void duplicate_streams(hls::stream<ap_uint<C::WIDTH> >& in, hls::stream<ap_uint<C::WIDTH> >& out0,
                       hls::stream<ap_uint<C::WIDTH> >& out1, unsigned n_frames) {
    FPGAGEN_HLS(INLINE)
    for (unsigned f = 0; f < n_frames; f++) {
        for (unsigned i = 0; i < C::WORDS; i++) {
            FPGAGEN_HLS(PIPELINE II=1)
            const ap_uint<C::WIDTH> x = in.read();
            out0.write(x);
            out1.write(x);
        }
    }
}

/*! Join: elementwise sum of two streams, WORDS words of PE elements per frame, one word per
 * cycle (II=1; a word is taken from both inputs together).
 *
 * C provides (unsigned): PE, WORDS, IN_BITS, IN_SIGNED (0/1), OUT_BITS (>= IN_BITS; the sum
 * is modulo 2^OUT_BITS, exact with IN_BITS + 1). Operands are sign- or zero-extended first.
 */
template <class C>
void add_streams(hls::stream<ap_uint<C::PE * C::IN_BITS> >& in0,
                 hls::stream<ap_uint<C::PE * C::IN_BITS> >& in1,
                 hls::stream<ap_uint<C::PE * C::OUT_BITS> >& out, unsigned n_frames) {
    FPGAGEN_HLS(INLINE)
    for (unsigned f = 0; f < n_frames; f++) {
        for (unsigned i = 0; i < C::WORDS; i++) {
            FPGAGEN_HLS(PIPELINE II=1)
            const ap_uint<C::PE * C::IN_BITS> a = in0.read();
            const ap_uint<C::PE * C::IN_BITS> b = in1.read();
            ap_uint<C::PE * C::OUT_BITS> y = 0;
            for (unsigned p = 0; p < C::PE; p++) {
                FPGAGEN_HLS(UNROLL)
                const ap_uint<C::OUT_BITS> ae =
                    extend_element<C::IN_BITS, C::OUT_BITS, C::IN_SIGNED>(
                        element<C::IN_BITS>(a, p));
                const ap_uint<C::OUT_BITS> be =
                    extend_element<C::IN_BITS, C::OUT_BITS, C::IN_SIGNED>(
                        element<C::IN_BITS>(b, p));
                const ap_uint<C::OUT_BITS> s = ae + be;  // modulo 2^OUT_BITS
                y(p * C::OUT_BITS + C::OUT_BITS - 1, p * C::OUT_BITS) = s;
            }
            out.write(y);
        }
    }
}

}  // namespace fpgagen

#endif  // FPGAGEN_BRANCH_H
