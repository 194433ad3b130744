"""Host packing cost, measured by benchmarks/io/host_pack.py (do not edit)."""

MACHINE = "AMD EPYC"
NUMPY = "2.4.6"
PACK_NS_PER_ELEMENT = 9.8457
PACK_NS_PER_BIT = 1.8857
UNPACK_NS_PER_ELEMENT = 11.4785
UNPACK_NS_PER_BIT = 4.7265
