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

/*! The N elements of BITS bits (BITS <= 32) of a word of W bits, element 0 from the LSBs.
 *
 * The word is first cut into 64-bit limbs, then each element is shifted out of (at most two)
 * limbs. In hardware every index is a constant after unrolling, so this is wiring; in C
 * simulation it costs O(W/64) limb reads per word instead of O(W/64) per element, which is
 * what makes wide integer MVAUs (SIMD in the hundreds) simulate quickly.
 */
template <int BITS, int N, int W>
void split_word(const ap_uint<W>& word, ap_uint<BITS> out[N]) {
    FPGAGEN_HLS(INLINE)
    const int L = (W + 63) / 64;
    uint64_t limb[L + 1];
    FPGAGEN_HLS(ARRAY_PARTITION variable=limb complete)
    for (int i = 0; i < L; i++) {
        FPGAGEN_HLS(UNROLL)
        const int hi = (64 * i + 63 < W) ? 64 * i + 63 : W - 1;
        limb[i] = word(hi, 64 * i).to_uint64();
    }
    limb[L] = 0;
    for (int s = 0; s < N; s++) {
        FPGAGEN_HLS(UNROLL)
        const int o = s * BITS, j = o / 64, r = o % 64;
        uint64_t v = limb[j] >> r;
        if (r + BITS > 64) {
            v |= limb[j + 1] << (64 - r);
        }
        out[s] = v;  // the low BITS bits
    }
}

/*! The N elements of BITS bits (BITS <= 32) of a parameter word stored as NC chunks of CB bits
 * (chunk 0 = LSBs, CB <= 32; see load_word), without building the wide word first.
 */
template <int BITS, int N, int CB, int NC, typename CT>
void split_chunks(const CT chunks[NC], ap_uint<BITS> out[N]) {
    FPGAGEN_HLS(INLINE)
    for (int s = 0; s < N; s++) {
        FPGAGEN_HLS(UNROLL)
        const int o = s * BITS, j = o / CB, r = o % CB;
        uint64_t v = static_cast<uint64_t>(chunks[j]);
        if (j + 1 < NC) {
            v |= static_cast<uint64_t>(chunks[j + 1]) << CB;
        }
        out[s] = v >> r;  // the low BITS bits
    }
}

//! Boundary adapter: AXI-Stream TDATA (AXIS_W bits, zero padded) -> internal words of W bits,
//! WORDS per frame.
/*! Lanes of a process (a layer with MMV lanes): word i of `in` (L * W bits) is cut into L
 * slices of W bits, slice m (bits [m*W +: W]) going to lanes[m]; `words` words in all. */
template <int W, int L>
void split_lanes(hls::stream<ap_uint<L * W> >& in, hls::stream<ap_uint<W> > lanes[L],
                 unsigned long words) {
    for (unsigned long i = 0; i < words; i++) {
        FPGAGEN_HLS(PIPELINE II=1)
        const ap_uint<L * W> x = in.read();
        for (int m = 0; m < L; m++) {
            FPGAGEN_HLS(UNROLL)
            lanes[m].write(x(m * W + W - 1, m * W));
        }
    }
}

/*! The inverse of split_lanes: one word of L * W bits from one word of every lane. */
template <int W, int L>
void merge_lanes(hls::stream<ap_uint<W> > lanes[L], hls::stream<ap_uint<L * W> >& out,
                 unsigned long words) {
    for (unsigned long i = 0; i < words; i++) {
        FPGAGEN_HLS(PIPELINE II=1)
        ap_uint<L * W> y = 0;
        for (int m = 0; m < L; m++) {
            FPGAGEN_HLS(UNROLL)
            y(m * W + W - 1, m * W) = lanes[m].read();
        }
        out.write(y);
    }
}

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
