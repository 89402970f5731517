"""Block- and architecture-level families (fire, inception, bottleneck, SE, ...).

One small module per topic; this one only gathers their families for the registry.
"""

from __future__ import annotations

from ..question import Family
from .archs import ARCH_FC_PARAM_SHARE, ARCH_LARGEST_LAYER, ARCH_TOTAL_MACS, ARCH_TOTAL_PARAMS
from .densenet import DENSENET_CHANNELS
from .fire import FIRE_MODULE_PARAMS, FIRE_OUTPUT_CHANNELS
from .inception import INCEPTION_OUTPUT_CHANNELS, INCEPTION_PARAMS
from .mobilenet_v2 import INVERTED_RESIDUAL_MACS, INVERTED_RESIDUAL_PARAMS
from .resnet import BOTTLENECK_PARAMS, RESNEXT_BLOCK_PARAMS
from .se import SE_BLOCK_PARAMS

__all__ = ["FAMILIES"]

FAMILIES: tuple[Family, ...] = (
    FIRE_MODULE_PARAMS,
    FIRE_OUTPUT_CHANNELS,
    INCEPTION_OUTPUT_CHANNELS,
    INCEPTION_PARAMS,
    BOTTLENECK_PARAMS,
    RESNEXT_BLOCK_PARAMS,
    SE_BLOCK_PARAMS,
    DENSENET_CHANNELS,
    INVERTED_RESIDUAL_PARAMS,
    INVERTED_RESIDUAL_MACS,
    ARCH_LARGEST_LAYER,
    ARCH_TOTAL_PARAMS,
    ARCH_TOTAL_MACS,
    ARCH_FC_PARAM_SHARE,
)
