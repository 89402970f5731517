"""Whole networks, written from the papers and torchvision's layouts, built from ``blocks``.

Where torchvision ships a model its parameter layout is reproduced exactly (same layers, same
widths, same biases), so counts match torchvision to the parameter; module names are our own
and follow the papers (conv1, pool1, fire2, fc8...). Weight initialisation is left at torch's
defaults: these networks exist to be measured on the meta device, never trained.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from torch import Tensor, nn

from models.blocks import (
    BasicBlock,
    Bottleneck,
    ConvBNReLU,
    DenseBlock,
    DepthwiseSeparable,
    Fire,
    Inception,
    InceptionConfig,
    InvertedResidual,
    ShuffleNetV1Unit,
    ShuffleNetV2Unit,
    Transition,
)

__all__ = [
    "AlexNet",
    "VGG",
    "GoogLeNet",
    "ResNet",
    "DenseNet",
    "SqueezeNet",
    "MobileNetV1",
    "MobileNetV2",
    "ShuffleNetV1",
    "ShuffleNetV2",
]


def _head(in_features: int, num_classes: int) -> OrderedDict[str, nn.Module]:
    """Global average pool, flatten and a fully connected classifier."""
    return OrderedDict(
        avgpool=nn.AdaptiveAvgPool2d(1),  # (B, C, 1, 1)
        flatten=nn.Flatten(),  # (B, C)
        fc=nn.Linear(in_features, num_classes),  # (B, classes)
    )


class AlexNet(nn.Sequential):
    """Single-tower AlexNet (64-192-384-256-256), named conv1 ... fc8 like the lecture table."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__(
            OrderedDict(
                conv1=nn.Conv2d(3, 64, 11, 4, 2),  # 227 -> 56 (224 -> 55)
                relu1=nn.ReLU(inplace=True),
                pool1=nn.MaxPool2d(3, 2),
                conv2=nn.Conv2d(64, 192, 5, padding=2),
                relu2=nn.ReLU(inplace=True),
                pool2=nn.MaxPool2d(3, 2),
                conv3=nn.Conv2d(192, 384, 3, padding=1),
                relu3=nn.ReLU(inplace=True),
                conv4=nn.Conv2d(384, 256, 3, padding=1),
                relu4=nn.ReLU(inplace=True),
                conv5=nn.Conv2d(256, 256, 3, padding=1),
                relu5=nn.ReLU(inplace=True),
                pool5=nn.MaxPool2d(3, 2),
                # Identity at 224 and 227 (already 6x6); keeps other input sizes working.
                avgpool=nn.AdaptiveAvgPool2d(6),
                flatten=nn.Flatten(),
                drop6=nn.Dropout(dropout),
                fc6=nn.Linear(256 * 6 * 6, 4096),
                relu6=nn.ReLU(inplace=True),
                drop7=nn.Dropout(dropout),
                fc7=nn.Linear(4096, 4096),
                relu7=nn.ReLU(inplace=True),
                fc8=nn.Linear(4096, num_classes),
            )
        )


# VGG configurations D (16 weight layers) and E (19): conv widths per stage.
VGG_STAGES: dict[int, tuple[tuple[int, ...], ...]] = {
    16: ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512)),
    19: ((64, 64), (128, 128), (256,) * 4, (512,) * 4, (512,) * 4),
}


class VGG(nn.Sequential):
    """VGG without batch norm: 3x3 convs in five stages, max pools, three FC layers."""

    def __init__(self, depth: int = 16, num_classes: int = 1000, dropout: float = 0.5) -> None:
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        in_ch = 3
        for s, widths in enumerate(VGG_STAGES[depth], start=1):
            for i, width in enumerate(widths, start=1):
                layers[f"conv{s}_{i}"] = nn.Conv2d(in_ch, width, 3, padding=1)
                layers[f"relu{s}_{i}"] = nn.ReLU(inplace=True)
                in_ch = width
            layers[f"pool{s}"] = nn.MaxPool2d(2, 2)  # halves H and W
        layers["avgpool"] = nn.AdaptiveAvgPool2d(7)  # identity at 224
        layers["flatten"] = nn.Flatten()
        layers["fc6"] = nn.Linear(512 * 7 * 7, 4096)
        layers["relu6"] = nn.ReLU(inplace=True)
        layers["drop6"] = nn.Dropout(dropout)
        layers["fc7"] = nn.Linear(4096, 4096)
        layers["relu7"] = nn.ReLU(inplace=True)
        layers["drop7"] = nn.Dropout(dropout)
        layers["fc8"] = nn.Linear(4096, num_classes)
        super().__init__(layers)


# GoogLeNet's Table 1: in, #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj.
GOOGLENET_INCEPTIONS: dict[str, InceptionConfig] = {
    "3a": InceptionConfig(192, 64, 96, 128, 16, 32, 32),
    "3b": InceptionConfig(256, 128, 128, 192, 32, 96, 64),
    "4a": InceptionConfig(480, 192, 96, 208, 16, 48, 64),
    "4b": InceptionConfig(512, 160, 112, 224, 24, 64, 64),
    "4c": InceptionConfig(512, 128, 128, 256, 24, 64, 64),
    "4d": InceptionConfig(512, 112, 144, 288, 32, 64, 64),
    "4e": InceptionConfig(528, 256, 160, 320, 32, 128, 128),
    "5a": InceptionConfig(832, 256, 160, 320, 32, 128, 128),
    "5b": InceptionConfig(832, 384, 192, 384, 48, 128, 128),
}


class GoogLeNet(nn.Sequential):
    """GoogLeNet (Inception v1) as in the paper: biased convs, LRN, 5x5 branches, no aux heads."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.4) -> None:
        inc = GOOGLENET_INCEPTIONS
        # Caffe rounds pooled sizes up; ceil_mode reproduces the paper's 112-56-28-14-7.
        super().__init__(
            OrderedDict(
                conv1=nn.Conv2d(3, 64, 7, 2, 3),  # (B, 64, 112, 112)
                relu1=nn.ReLU(inplace=True),
                pool1=nn.MaxPool2d(3, 2, ceil_mode=True),  # (B, 64, 56, 56)
                lrn1=nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75),
                conv2_reduce=nn.Conv2d(64, 64, 1),
                relu2_reduce=nn.ReLU(inplace=True),
                conv2=nn.Conv2d(64, 192, 3, padding=1),  # (B, 192, 56, 56)
                relu2=nn.ReLU(inplace=True),
                lrn2=nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75),
                pool2=nn.MaxPool2d(3, 2, ceil_mode=True),  # (B, 192, 28, 28)
                inception3a=Inception(inc["3a"]),
                inception3b=Inception(inc["3b"]),  # (B, 480, 28, 28)
                pool3=nn.MaxPool2d(3, 2, ceil_mode=True),  # (B, 480, 14, 14)
                inception4a=Inception(inc["4a"]),
                inception4b=Inception(inc["4b"]),
                inception4c=Inception(inc["4c"]),
                inception4d=Inception(inc["4d"]),
                inception4e=Inception(inc["4e"]),  # (B, 832, 14, 14)
                pool4=nn.MaxPool2d(3, 2, ceil_mode=True),  # (B, 832, 7, 7)
                inception5a=Inception(inc["5a"]),
                inception5b=Inception(inc["5b"]),  # (B, 1024, 7, 7)
                avgpool=nn.AdaptiveAvgPool2d(1),  # the paper's 7x7/1 average pool at 224
                flatten=nn.Flatten(),
                dropout=nn.Dropout(dropout),
                fc=nn.Linear(1024, num_classes),
            )
        )


class ResNet(nn.Module):
    """ResNet family: 7x7 stem, four stages of basic or bottleneck blocks, pool and FC.

    ``groups``/``base_width`` make it a ResNeXt, ``se_reduction`` an SE-ResNet and
    ``stride_in_1x1`` the original v1 bottleneck (torchvision's default is v1.5).
    """

    def __init__(
        self,
        block: str,
        layers: Sequence[int],
        *,
        groups: int = 1,
        base_width: int = 64,
        stride_in_1x1: bool = False,
        se_reduction: int | None = None,
        num_classes: int = 1000,
    ) -> None:
        super().__init__()
        self.layer1: nn.Sequential
        self.layer2: nn.Sequential
        self.layer3: nn.Sequential
        self.layer4: nn.Sequential
        if block not in ("basic", "bottleneck"):
            raise ValueError(f"block must be 'basic' or 'bottleneck', got {block!r}")
        if block == "basic" and (groups != 1 or base_width != 64 or se_reduction):
            raise ValueError("basic blocks support neither groups, width nor SE")
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)  # (B, 64, 112, 112)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)  # (B, 64, 56, 56)
        expansion = 1 if block == "basic" else Bottleneck.expansion
        in_ch = 64
        for i, (planes, n) in enumerate(zip((64, 128, 256, 512), layers, strict=True)):
            blocks: list[nn.Module] = []
            for j in range(n):
                stride = 2 if (i > 0 and j == 0) else 1  # stage 1 follows the max pool
                if block == "basic":
                    blocks.append(BasicBlock(in_ch, planes, stride))
                else:
                    blocks.append(
                        Bottleneck(
                            in_ch,
                            planes,
                            stride,
                            groups=groups,
                            base_width=base_width,
                            stride_in_1x1=stride_in_1x1,
                            se_reduction=se_reduction,
                        )
                    )
                in_ch = planes * expansion
            self.add_module(f"layer{i + 1}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(512 * expansion, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))  # (B, 512·e, H/32, W/32)
        return self.fc(self.flatten(self.avgpool(x)))


class DenseNet(nn.Module):
    """DenseNet-BC: stem, dense blocks joined by transitions that halve the channels."""

    def __init__(
        self,
        growth_rate: int = 32,
        block_config: Sequence[int] = (6, 12, 24, 16),
        num_init_features: int = 64,
        bn_size: int = 4,
        num_classes: int = 1000,
    ) -> None:
        super().__init__()
        feats: OrderedDict[str, nn.Module] = OrderedDict(
            conv0=nn.Conv2d(3, num_init_features, 7, 2, 3, bias=False),
            norm0=nn.BatchNorm2d(num_init_features),
            relu0=nn.ReLU(inplace=True),
            pool0=nn.MaxPool2d(3, 2, 1),  # (B, 64, 56, 56)
        )
        ch = num_init_features
        for i, n in enumerate(block_config, start=1):
            block = DenseBlock(n, ch, growth_rate, bn_size)
            feats[f"denseblock{i}"] = block
            ch = block.out_channels
            if i != len(block_config):
                feats[f"transition{i}"] = Transition(ch, ch // 2)  # compression 0.5
                ch //= 2
        feats["norm5"] = nn.BatchNorm2d(ch)
        self.features = nn.Sequential(feats)
        self.relu = nn.ReLU(inplace=True)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.classifier = nn.Linear(ch, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu(self.features(x))
        return self.classifier(self.flatten(self.avgpool(x)))


class SqueezeNet(nn.Sequential):
    """SqueezeNet 1.0 (paper) or 1.1 (DeepScale's repo: 3x3 stem, earlier pooling)."""

    def __init__(self, version: str = "1_0", num_classes: int = 1000) -> None:
        pool = nn.MaxPool2d(3, 2, ceil_mode=True)
        layers: OrderedDict[str, nn.Module]
        if version == "1_0":
            layers = OrderedDict(
                conv1=nn.Conv2d(3, 96, 7, 2),
                relu1=nn.ReLU(inplace=True),
                pool1=pool,
                fire2=Fire(96, 16, 64, 64),
                fire3=Fire(128, 16, 64, 64),
                fire4=Fire(128, 32, 128, 128),
                pool4=nn.MaxPool2d(3, 2, ceil_mode=True),
                fire5=Fire(256, 32, 128, 128),
                fire6=Fire(256, 48, 192, 192),
                fire7=Fire(384, 48, 192, 192),
                fire8=Fire(384, 64, 256, 256),
                pool8=nn.MaxPool2d(3, 2, ceil_mode=True),
                fire9=Fire(512, 64, 256, 256),
            )
        elif version == "1_1":
            layers = OrderedDict(
                conv1=nn.Conv2d(3, 64, 3, 2),
                relu1=nn.ReLU(inplace=True),
                pool1=pool,
                fire2=Fire(64, 16, 64, 64),
                fire3=Fire(128, 16, 64, 64),
                pool3=nn.MaxPool2d(3, 2, ceil_mode=True),
                fire4=Fire(128, 32, 128, 128),
                fire5=Fire(256, 32, 128, 128),
                pool5=nn.MaxPool2d(3, 2, ceil_mode=True),
                fire6=Fire(256, 48, 192, 192),
                fire7=Fire(384, 48, 192, 192),
                fire8=Fire(384, 64, 256, 256),
                fire9=Fire(512, 64, 256, 256),
            )
        else:
            raise ValueError(f"version must be '1_0' or '1_1', got {version!r}")
        # No FC layer at all: a 1x1 conv to the classes, then global average pooling.
        layers["dropout"] = nn.Dropout(0.5)
        layers["conv10"] = nn.Conv2d(512, num_classes, 1)
        layers["relu10"] = nn.ReLU(inplace=True)
        layers["avgpool"] = nn.AdaptiveAvgPool2d(1)
        layers["flatten"] = nn.Flatten()
        super().__init__(layers)


# MobileNet v1 body (paper Table 1): (output channels, stride) of the 13 separable blocks.
MOBILENET_V1_BLOCKS: tuple[tuple[int, int], ...] = (
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    *((512, 1),) * 5,
    (1024, 2),
    # The paper's table prints s2 here, but its own 7x7 output sizes require stride 1.
    (1024, 1),
)


class MobileNetV1(nn.Module):
    """MobileNet v1 (width 1.0): 3x3 stem, 13 depthwise separable blocks, pool and FC."""

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.conv1 = ConvBNReLU(3, 32, 3, 2)  # (B, 32, 112, 112)
        blocks: list[nn.Module] = []
        in_ch = 32
        for out_ch, stride in MOBILENET_V1_BLOCKS:
            blocks.append(DepthwiseSeparable(in_ch, out_ch, stride))
            in_ch = out_ch
        self.features = nn.Sequential(*blocks)  # (B, 1024, 7, 7)
        self.head = nn.Sequential(_head(1024, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(self.conv1(x)))


# MobileNet v2 (paper Table 2): expansion t, output channels c, repeats n, first stride s.
MOBILENET_V2_SETTINGS: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


class MobileNetV2(nn.Module):
    """MobileNet v2 (width 1.0): inverted residual bottlenecks, 1x1 to 1280, pool and FC."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.2) -> None:
        super().__init__()
        layers: list[nn.Module] = [ConvBNReLU(3, 32, 3, 2, activation="relu6")]
        in_ch = 32
        for t, c, n, s in MOBILENET_V2_SETTINGS:
            for i in range(n):
                layers.append(InvertedResidual(in_ch, c, s if i == 0 else 1, t))
                in_ch = c
        layers.append(ConvBNReLU(in_ch, 1280, 1, activation="relu6"))  # (B, 1280, 7, 7)
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(1280, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.flatten(self.avgpool(self.features(x)))
        return self.classifier(self.dropout(x))


# ShuffleNet v1 1x (paper Table 1): output channels of stages 2-4 per number of groups.
SHUFFLENET_V1_CHANNELS: dict[int, tuple[int, int, int]] = {
    1: (144, 288, 576),
    2: (200, 400, 800),
    3: (240, 480, 960),
    4: (272, 544, 1088),
    8: (384, 768, 1536),
}


class ShuffleNetV1(nn.Module):
    """ShuffleNet v1 (1x): 3x3 stem, max pool, stages of 4/8/4 shuffle units, pool and FC."""

    def __init__(self, groups: int = 3, num_classes: int = 1000) -> None:
        super().__init__()
        self.stage2: nn.Sequential
        self.stage3: nn.Sequential
        self.stage4: nn.Sequential
        self.conv1 = ConvBNReLU(3, 24, 3, 2)  # (B, 24, 112, 112)
        self.maxpool = nn.MaxPool2d(3, 2, 1)  # (B, 24, 56, 56)
        in_ch = 24
        for stage, (out_ch, repeats) in enumerate(
            zip(SHUFFLENET_V1_CHANNELS[groups], (4, 8, 4), strict=True), start=2
        ):
            units: list[nn.Module] = []
            for i in range(repeats):
                units.append(
                    ShuffleNetV1Unit(
                        in_ch if i == 0 else out_ch,
                        out_ch,
                        groups,
                        stride=2 if i == 0 else 1,
                        # Stage 2's input has only 24 channels: its first 1x1 is not grouped.
                        first_group_conv=not (stage == 2 and i == 0),
                    )
                )
            self.add_module(f"stage{stage}", nn.Sequential(*units))
            in_ch = out_ch
        self.head = nn.Sequential(_head(in_ch, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.conv1(x))
        x = self.stage4(self.stage3(self.stage2(x)))
        return self.head(x)


# ShuffleNet v2 (paper Table 5): output channels of conv1, stages 2-4 and conv5 per width.
SHUFFLENET_V2_CHANNELS: dict[str, tuple[int, int, int, int, int]] = {
    "0.5": (24, 48, 96, 192, 1024),
    "1.0": (24, 116, 232, 464, 1024),
    "1.5": (24, 176, 352, 704, 1024),
    "2.0": (24, 244, 488, 976, 2048),
}


class ShuffleNetV2(nn.Module):
    """ShuffleNet v2: 3x3 stem, max pool, stages of 4/8/4 units, 1x1 conv5, pool and FC."""

    def __init__(self, width: str = "1.0", num_classes: int = 1000) -> None:
        super().__init__()
        self.stage2: nn.Sequential
        self.stage3: nn.Sequential
        self.stage4: nn.Sequential
        c1, c2, c3, c4, c5 = SHUFFLENET_V2_CHANNELS[width]
        self.conv1 = ConvBNReLU(3, c1, 3, 2)  # (B, 24, 112, 112)
        self.maxpool = nn.MaxPool2d(3, 2, 1)  # (B, 24, 56, 56)
        in_ch = c1
        for stage, (out_ch, repeats) in enumerate(zip((c2, c3, c4), (4, 8, 4), strict=True), 2):
            units = [ShuffleNetV2Unit(in_ch, out_ch, 2)]
            units += [ShuffleNetV2Unit(out_ch, out_ch, 1) for _ in range(repeats - 1)]
            self.add_module(f"stage{stage}", nn.Sequential(*units))
            in_ch = out_ch
        self.conv5 = ConvBNReLU(in_ch, c5, 1)  # (B, c5, 7, 7)
        self.head = nn.Sequential(_head(c5, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.conv1(x))
        x = self.stage4(self.stage3(self.stage2(x)))
        return self.head(self.conv5(x))
