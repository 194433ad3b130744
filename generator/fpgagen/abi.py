"""The accelerator kernel's contract with software: register map, port names, file names.

One kernel serves every board and both backends (RTL and HLS); drivers never care which
backend or board made it. This module is the single source of the numbers the generated RTL,
the HLS top, the vendor projects and the runtime agree on. It imports nothing from fpgagen, so
that the runtime vendored into a build's ``deploy/`` folder can carry an identical copy.

Register map (AXI4-Lite slave ``s_axi_control``, 7 address bits), as Vitis HLS lays out a
function ``fpgagen_kernel(const ap_uint<BUS>* in, ap_uint<BUS>* out, int n, int* status[,
const ap_uint<BUS>* w])`` with every argument on ``s_axilite`` and the pointers on the
``m_axi`` bundle ``gmem``. Vitis HLS gives each 64-bit pointer three words (low, high,
reserved), a 32-bit input two (data, reserved) and an output scalar with its default
``ap_vld`` protocol a 16-byte aligned slot of data + control word, the next argument starting
at the following 16-byte boundary (UG1399 "S_AXILITE Control Register Map"; the ``*_hw.h``
headers Vitis HLS 2020.2 and 2022.2 write). So the one map of both backends is:

====== ============ =============================================================
offset name         meaning
====== ============ =============================================================
0x00   CTRL         bit 0 ap_start (W1, self-clearing), bit 1 ap_done (clear on read),
                    bit 2 ap_idle, bit 3 ap_ready, bit 7 auto_restart
0x04   GIE          bit 0 global interrupt enable
0x08   IER          bit 0 ap_done interrupt enable, bit 1 ap_ready interrupt enable
0x0C   ISR          bit 0 ap_done, bit 1 ap_ready (toggle on write: writing 1 flips)
0x10   IN_LO        input buffer address, bits 31..0
0x14   IN_HI        input buffer address, bits 63..32
0x1C   OUT_LO       output buffer address, bits 31..0
0x20   OUT_HI       output buffer address, bits 63..32
0x28   N            number of frames
0x30   STATUS       read only, written by the kernel at the end of every run: bit 0 a read
                    response was SLVERR/DECERR, bit 1 a write response was (RTL kernel);
                    always 0 on the HLS kernel (HLS m_axi hides response codes)
0x34   STATUS_CTRL  bit 0 status_ap_vld: set when a run ends (STATUS written), cleared
                    when read
0x40   WGT_LO       weight buffer address, bits 31..0 (kernels with external or UltraRAM
0x44   WGT_HI       weights: the HLS kernel's argument ``w``), bits 63..32; a plain
                    register otherwise on the RTL kernel, absent on the HLS kernel
====== ============ =============================================================

Weight buffer (kernels with external or UltraRAM weights, design.json "weights"): the image
file ``deploy/weights.bin`` (:data:`WEIGHTS_FILE`, the same for both backends) copied once
into a buffer the driver allocates at load time; its address goes to WGT_LO/WGT_HI (XRT:
argument :data:`ARG_W`). One region per such layer at a 4 KB aligned offset, each holding the
layer's weight words in the order the layer consumes them, packed densely like the other
buffers, repeated so that the region is a whole number of bus words (docs/kernel.md
"External weights", "Weights in UltraRAM").

Buffers (see docs/conventions.md, "Memory buffers of the kernel"): the stream words of all
frames of a batch are concatenated bit by bit, word 0 of frame 0 in the least significant bits
of byte 0, each word exactly as wide as the stream (no AXI-Stream padding), and only the whole
batch is padded with zero bits to a multiple of the bus width.
"""

from __future__ import annotations

# -- kernel identity and ports ---------------------------------------------------------------
KERNEL_NAME = "fpgagen_kernel"  # RTL top module, HLS top function, Vitis kernel name
CLOCK_PORT = "ap_clk"
RESET_PORT = "ap_rst_n"  # active low
CONTROL_PORT = "s_axi_control"
MEMORY_PORT = (
    "m_axi_gmem"  # one AXI4 master: read channels fetch input, write channels store output
)
INTERRUPT_PORT = "interrupt"
CONTROL_ADDR_BITS = 7
ADDR_BITS = 64  # AXI4 master address width
BUS_BITS = {"zynq": 128, "f1": 512}  # AXI4 master data width per platform kind
MAX_BURST_BEATS = 256  # AXI4 INCR burst limit
BURST_BOUNDARY = 4096  # bursts never cross a 4 KB boundary

# -- register offsets --------------------------------------------------------------------------
REG_CTRL = 0x00
REG_GIE = 0x04
REG_IER = 0x08
REG_ISR = 0x0C
REG_IN_LO = 0x10
REG_IN_HI = 0x14
REG_OUT_LO = 0x1C
REG_OUT_HI = 0x20
REG_N = 0x28
REG_STATUS = 0x30
REG_STATUS_CTRL = 0x34  # bit 0: status_ap_vld (set when a run ends, clear on read)
REG_WGT_LO = 0x40
REG_WGT_HI = 0x44

# -- kernel arguments: their indices for XRT (Vitis numbers the C arguments in order) ---------
ARG_IN, ARG_OUT, ARG_N, ARG_STATUS, ARG_W = range(5)  # status: output scalar, never set

# -- CTRL bits ---------------------------------------------------------------------------------
CTRL_START = 1 << 0
CTRL_DONE = 1 << 1
CTRL_IDLE = 1 << 2
CTRL_READY = 1 << 3
CTRL_AUTO_RESTART = 1 << 7

# -- STATUS bits (RTL kernel; 0 on the HLS kernel) ---------------------------------------------------------------
STATUS_READ_ERROR = 1 << 0
STATUS_WRITE_ERROR = 1 << 1

# -- deploy folder ---------------------------------------------------------------------------------
DEPLOY_DIR = "deploy"
DESIGN_FILE = "design.json"  # metadata written by `fpgagen build`
BITSTREAM_BASE = "accel"  # deploy/accel.bit + accel.hwh (Zynq), accel.xclbin / accel.awsxclbin (F1)
WEIGHTS_FILE = "weights.bin"  # the weight buffer's image (kernels with external weights)
BITSTREAM_FILE = "bitstream.json"  # written by the vendor flow: design hash + sha256 of the files


def buffer_bytes(n_frames: int, words_per_frame: int, word_bits: int, bus_bits: int) -> int:
    """Bytes of a densely packed buffer of ``n_frames`` frames (padded to the bus width)."""
    total_bits = n_frames * words_per_frame * word_bits
    beats = -(-total_bits // bus_bits)
    return beats * bus_bits // 8


def bus_beats(n_frames: int, words_per_frame: int, word_bits: int, bus_bits: int) -> int:
    """Bus beats the kernel moves for a densely packed buffer of ``n_frames`` frames."""
    return -(-(n_frames * words_per_frame * word_bits) // bus_bits)
