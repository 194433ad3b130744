// fpgagen HLS library: element encodings, parameter words and stream adapters.
//
// Conventions (docs/conventions.md): a stream word carries ELEMS consecutive elements, element
// 0 in the least significant bits; BIPOLAR is one bit (0 = -1, 1 = +1), INTn two's
// complement, UINTn binary. AXI-Stream TDATA at the accelerator boundary is the word padded
// with zero bits to a multiple of 8.
//
// Parameter memories (weights, thresholds) hold the same words, line for line, as the RTL
// backend's .mem files. Each word is stored as NC chunks of CB bits (least significant chunk
// first) in a plain unsigned C type, so g++ compiles large tables quickly; ARRAY_RESHAPE on the
// chunk dimension turns the table into one ROM of NC*CB-bit words in hardware.
#ifndef FPGAGEN_STREAMS_H
#define FPGAGEN_STREAMS_H

// The Xilinx ap_types headers trip g++ >= 11 flow-analysis false positives (-Wuninitialized,
// -Wmaybe-uninitialized, -Waggressive-loop-optimizations on the reversed-range path of wide
// range selections) when their code is inlined into ours; silence them for these headers only.
#if defined(__GNUC__) && !defined(__clang__) && !defined(__SYNTHESIS__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Waggressive-loop-optimizations"
#endif
#include <ap_int.h>
#include <hls_stream.h>
#if defined(__GNUC__) && !defined(__clang__) && !defined(__SYNTHESIS__)
#pragma GCC diagnostic pop
#endif

// FPGAGEN_HLS(PIPELINE II=1) is the directive "#pragma HLS PIPELINE II=1" for Vitis HLS
// synthesis (__SYNTHESIS__ defined) and nothing elsewhere: C simulation ignores HLS directives,
// and g++ < 13 cannot silence -Wunknown-pragmas from within the code.
#ifdef __SYNTHESIS__
#define FPGAGEN_PRAGMA_(x) _Pragma(#x)
#define FPGAGEN_HLS(x) FPGAGEN_PRAGMA_(HLS x)
#else
#define FPGAGEN_HLS(x)
#endif

#include <stdint.h>

namespace fpgagen {

//! How the bits of an element encode its value.
enum Kind {
    KIND_UNSIGNED = 0,  //!< UINTn: binary
    KIND_SIGNED = 1,    //!< INTn, TERNARY: two's complement
    KIND_BIPOLAR = 2    //!< BIPOLAR: bit 0 means -1, bit 1 means +1
};

//! Value of an element of KIND stored in BITS raw bits (BITS+1 signed bits hold any of them).
template <int KIND, int BITS>
ap_int<BITS + 1> element_value(const ap_uint<BITS>& raw) {
    FPGAGEN_HLS(INLINE)
    ap_int<BITS + 1> v;
    if (KIND == KIND_BIPOLAR) {
        v = raw[0] ? 1 : -1;
    } else if (KIND == KIND_SIGNED) {
        const ap_int<BITS> s = raw;  // same width: reinterpret the bits
        v = s;
    } else {
        v = raw;
    }
    return v;
}

//! Element IDX (BITS bits) of a word of W bits.
template <int BITS, int W>
ap_uint<BITS> element(const ap_uint<W>& word, unsigned idx) {
    FPGAGEN_HLS(INLINE)
    return word(idx * BITS + BITS - 1, idx * BITS);
}

//! One parameter word of W bits rebuilt from its NC chunks of CB bits (chunk 0 = LSBs).
template <int W, int CB, int NC, typename CT>
ap_uint<W> load_word(const CT chunks[NC]) {
    FPGAGEN_HLS(INLINE)
    ap_uint<CB * NC> all = 0;
    for (int i = 0; i < NC; i++) {
        FPGAGEN_HLS(UNROLL)
        all(CB * i + CB - 1, CB * i) = chunks[i];
    }
    return all(W - 1, 0);
}

//! Boundary adapter: AXI-Stream TDATA (AXIS_W bits, zero padded) -> internal words of W bits,
//! WORDS per frame.
template <int AXIS_W, int W, unsigned WORDS>
void axis_to_stream(hls::stream<ap_uint<AXIS_W> >& in, hls::stream<ap_uint<W> >& out,
                    unsigned n_frames) {
    FPGAGEN_HLS(INLINE off)
    for (unsigned f = 0; f < n_frames; f++) {
        for (unsigned i = 0; i < WORDS; i++) {
            FPGAGEN_HLS(PIPELINE II=1)
            const ap_uint<AXIS_W> t = in.read();
            const ap_uint<W> w = t(W - 1, 0);
            out.write(w);
        }
    }
}

//! Boundary adapter: internal words of W bits -> AXI-Stream TDATA of AXIS_W bits (zero padded),
//! WORDS per frame.
template <int W, int AXIS_W, unsigned WORDS>
void stream_to_axis(hls::stream<ap_uint<W> >& in, hls::stream<ap_uint<AXIS_W> >& out,
                    unsigned n_frames) {
    FPGAGEN_HLS(INLINE off)
    for (unsigned f = 0; f < n_frames; f++) {
        for (unsigned i = 0; i < WORDS; i++) {
            FPGAGEN_HLS(PIPELINE II=1)
            const ap_uint<AXIS_W> t = in.read();  // zero extension
            out.write(t);
        }
    }
}

}  // namespace fpgagen

#endif  // FPGAGEN_STREAMS_H
