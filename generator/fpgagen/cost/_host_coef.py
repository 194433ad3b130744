"""Host packing cost, measured by benchmarks/io/host_pack.py (do not edit)."""

MACHINE = "AMD EPYC"
NUMPY = "2.4.6"
PACK_NS_PER_ELEMENT = 0.9199
PACK_NS_PER_BIT = 0.0816
UNPACK_NS_PER_ELEMENT = 0.4696
UNPACK_NS_PER_BIT = 0.1472
