"""The synthetic multi-domain person re-ID benchmark (`bau synth`).

Nine datasets in the real on-disk layouts (docs/reference.md §1), each with its own domain
style, whose people are drawn from one shared attribute space. ``generate`` writes them,
``expected_counts`` gives what the parsers must read back at a scale (for ``bau verify``).
"""

from bau.synth.counts import expected_counts
from bau.synth.generator import MARKER, generate

__all__ = ["MARKER", "expected_counts", "generate"]
