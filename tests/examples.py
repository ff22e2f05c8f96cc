"""How many examples the property tests draw. The defaults keep `make test` within its two minutes;
CCVC_EXAMPLES multiplies them for a longer hunt (CCVC_EXAMPLES=10 make test)."""

import os

SCALE = max(1, int(os.environ.get("CCVC_EXAMPLES", "1")))


def examples(default: int) -> int:
    return default * SCALE
