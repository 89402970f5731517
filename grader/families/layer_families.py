"""Layer-level families (convolution, pooling, linear, grouped, depthwise, shuffle, ...).

One module per topic; this tuple is what ``grader.registry`` reads.
"""

from __future__ import annotations

from ..question import Family
from . import (
    compression,
    conv,
    depthwise,
    gap,
    grouped,
    linear,
    memaccess,
    pool,
    receptive,
    shuffle,
)

FAMILIES: tuple[Family, ...] = (
    *conv.FAMILIES,
    *pool.FAMILIES,
    *linear.FAMILIES,
    *grouped.FAMILIES,
    *depthwise.FAMILIES,
    *shuffle.FAMILIES,
    *memaccess.FAMILIES,
    *gap.FAMILIES,
    *compression.FAMILIES,
    *receptive.FAMILIES,
)
