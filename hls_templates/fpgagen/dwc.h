// fpgagen HLS library: data-width converter (stream gearbox).
//
// Regroups a stream of IN_ELEMS elements per word into OUT_ELEMS elements per word (any pair),
// keeping element order (element 0 in the least significant bits). One word per cycle on the
// wider side: max(in words, out words) cycles per frame.
#ifndef FPGAGEN_DWC_H
#define FPGAGEN_DWC_H

#include "streams.h"

namespace fpgagen {

/*! Width conversion of n_frames frames of ELEMS_PER_FRAME elements.
 *
 * C provides: IN_ELEMS, OUT_ELEMS, BITS (bits per element), ELEMS_PER_FRAME (a multiple of
 * both IN_ELEMS and OUT_ELEMS), all unsigned.
 */
template <class C>
void dwc(hls::stream<ap_uint<C::IN_ELEMS * C::BITS> >& in,
         hls::stream<ap_uint<C::OUT_ELEMS * C::BITS> >& out, unsigned n_frames) {
    FPGAGEN_HLS(INLINE)
    const unsigned IN_W = C::IN_ELEMS * C::BITS;
    const unsigned OUT_W = C::OUT_ELEMS * C::BITS;
    const unsigned BUF_W = IN_W + OUT_W;
    const unsigned IN_WORDS = C::ELEMS_PER_FRAME / C::IN_ELEMS;
    const unsigned OUT_WORDS = C::ELEMS_PER_FRAME / C::OUT_ELEMS;

    ap_uint<BUF_W> buf = 0;  // pending elements, the oldest in the least significant bits
    unsigned have = 0;       // number of pending elements (< IN_ELEMS + OUT_ELEMS)
    if (C::IN_ELEMS >= C::OUT_ELEMS) {
        // one output word per cycle, an input word whenever fewer than OUT_ELEMS are pending
        for (unsigned f = 0; f < n_frames; f++) {
            for (unsigned i = 0; i < OUT_WORDS; i++) {
                FPGAGEN_HLS(PIPELINE II=1)
                if (have < C::OUT_ELEMS) {
                    ap_uint<BUF_W> t = in.read();
                    t <<= have * C::BITS;
                    buf |= t;
                    have += C::IN_ELEMS;
                }
                const ap_uint<OUT_W> y = buf(OUT_W - 1, 0);
                out.write(y);
                buf >>= OUT_W;
                have -= C::OUT_ELEMS;
            }
        }
    } else {
        // one input word per cycle, an output word whenever OUT_ELEMS are pending
        for (unsigned f = 0; f < n_frames; f++) {
            for (unsigned i = 0; i < IN_WORDS; i++) {
                FPGAGEN_HLS(PIPELINE II=1)
                ap_uint<BUF_W> t = in.read();
                t <<= have * C::BITS;
                buf |= t;
                have += C::IN_ELEMS;
                if (have >= C::OUT_ELEMS) {
                    const ap_uint<OUT_W> y = buf(OUT_W - 1, 0);
                    out.write(y);
                    buf >>= OUT_W;
                    have -= C::OUT_ELEMS;
                }
            }
        }
    }
}

}  // namespace fpgagen

#endif  // FPGAGEN_DWC_H
