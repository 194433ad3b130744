"""``python -m fpgagen.synth OUTDIR``: the same as ``fpgagen synth OUTDIR``."""

import sys

from .build import main

sys.exit(main())
