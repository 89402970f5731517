"""Building blocks of the efficient-CNN families, AlexNet to ShuffleNet v2.

Every block is a plain ``nn.Module`` whose children are the layers a lecture would draw, so a
profile lists them by name (``squeeze``, ``expand3x3``, ``shuffle``...). Functional steps that
have no weights (concatenation, channel split, residual addition, SE's channel scaling) stay in
``forward``: they cost no MACs under the conventions in ``docs/conventions.md``.

Shape comments use ``(B, C, H, W)``.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import Tensor, nn

__all__ = [
    "ConvBNReLU",
    "GroupedConv",
    "DepthwiseSeparable",
    "InvertedResidual",
    "BasicBlock",
    "Bottleneck",
    "ResNeXtBlock",
    "SqueezeExcitation",
    "DenseLayer",
    "DenseBlock",
    "Transition",
    "Fire",
    "NaiveInception",
    "Inception",
    "InceptionConfig",
    "ChannelShuffle",
    "ShuffleNetV1Unit",
    "ShuffleNetV2Unit",
    "channel_shuffle",
]


def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if value <= 0:
            raise ValueError(f"{name} must be positive, got {value}")


def _check_divisible(channels: int, groups: int, what: str = "channels") -> None:
    if channels % groups:
        raise ValueError(f"{what} {channels} not divisible by groups {groups}")


class ConvBNReLU(nn.Sequential):
    """Convolution (no bias), batch norm, then ReLU, ReLU6 or no activation."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        padding: int | None = None,
        groups: int = 1,
        activation: str | None = "relu",
    ) -> None:
        _check_positive(in_channels=in_channels, out_channels=out_channels, groups=groups)
        _check_divisible(in_channels, groups, "in_channels")
        _check_divisible(out_channels, groups, "out_channels")
        if padding is None:
            padding = (kernel_size - 1) // 2  # "same" size at stride 1 for odd kernels
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        # No bias: the batch norm's shift would make it redundant.
        layers["conv"] = nn.Conv2d(
            in_channels, out_channels, kernel_size, stride, padding, groups=groups, bias=False
        )
        layers["bn"] = nn.BatchNorm2d(out_channels)
        if activation == "relu":
            layers["relu"] = nn.ReLU(inplace=True)
        elif activation == "relu6":
            layers["relu"] = nn.ReLU6(inplace=True)
        elif activation is not None:
            raise ValueError(f"activation must be 'relu', 'relu6' or None, got {activation!r}")
        super().__init__(layers)


class GroupedConv(ConvBNReLU):
    """Grouped convolution: ``groups`` independent convolutions over channel slices, BN, ReLU."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        groups: int = 2,
        activation: str | None = "relu",
    ) -> None:
        # (B, C_in, H, W) -> (B, C_out, H', W'); weights shrink by a factor ``groups``.
        super().__init__(
            in_channels, out_channels, kernel_size, stride, groups=groups, activation=activation
        )


class DepthwiseSeparable(nn.Module):
    """MobileNet v1 block: 3x3 depthwise conv-BN-ReLU, then 1x1 pointwise conv-BN-ReLU."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        # (B, C_in, H, W) -> (B, C_in, H/s, W/s): one 3x3 filter per channel.
        self.depthwise = ConvBNReLU(in_channels, in_channels, 3, stride, groups=in_channels)
        # (B, C_in, H/s, W/s) -> (B, C_out, H/s, W/s): mixes channels.
        self.pointwise = ConvBNReLU(in_channels, out_channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.pointwise(self.depthwise(x))


class InvertedResidual(nn.Module):
    """MobileNet v2 block: 1x1 expand (t), 3x3 depthwise, linear 1x1 projection, skip if same."""

    def __init__(
        self, in_channels: int, out_channels: int, stride: int = 1, expand_ratio: int = 6
    ) -> None:
        super().__init__()
        _check_positive(expand_ratio=expand_ratio)
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        hidden = in_channels * expand_ratio
        self.use_residual = stride == 1 and in_channels == out_channels
        # t == 1 has nothing to expand, so MobileNet v2's first block skips the 1x1.
        self.expand = (
            ConvBNReLU(in_channels, hidden, 1, activation="relu6") if expand_ratio != 1 else None
        )
        # (B, tC, H, W) -> (B, tC, H/s, W/s)
        self.depthwise = ConvBNReLU(hidden, hidden, 3, stride, groups=hidden, activation="relu6")
        # Linear bottleneck: no activation after the projection, ReLU would destroy information
        # in the low-dimensional output.
        self.project = ConvBNReLU(hidden, out_channels, 1, activation=None)

    def forward(self, x: Tensor) -> Tensor:
        out = self.expand(x) if self.expand is not None else x
        out = self.project(self.depthwise(out))  # (B, C_out, H/s, W/s)
        return x + out if self.use_residual else out


def _shortcut(in_channels: int, out_channels: int, stride: int) -> nn.Module | None:
    """Projection shortcut (1x1 conv + BN) when the residual's shape changes, else identity."""
    if stride == 1 and in_channels == out_channels:
        return None
    return ConvBNReLU(in_channels, out_channels, 1, stride, activation=None)


class BasicBlock(nn.Module):
    """ResNet-18/34 block: two 3x3 conv-BN (stride on the first), identity or 1x1 shortcut."""

    expansion = 1

    def __init__(self, in_channels: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = _shortcut(in_channels, planes, stride)
        self.relu2 = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu1(self.bn1(self.conv1(x)))  # (B, P, H/s, W/s)
        out = self.bn2(self.conv2(out))
        identity = self.downsample(x) if self.downsample is not None else x
        return self.relu2(out + identity)


class SqueezeExcitation(nn.Module):
    """SE block: global average pool, FC down by r, ReLU, FC up, sigmoid, rescale channels."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        _check_positive(channels=channels, reduction=reduction)
        squeezed = channels // reduction
        if squeezed < 1:
            raise ValueError(f"reduction {reduction} leaves no channels out of {channels}")
        self.pool = nn.AdaptiveAvgPool2d(1)  # (B, C, H, W) -> (B, C, 1, 1)
        self.flatten = nn.Flatten()  # -> (B, C)
        self.fc1 = nn.Linear(channels, squeezed)  # -> (B, C/r)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Linear(squeezed, channels)  # -> (B, C)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: Tensor) -> Tensor:
        scale = self.sigmoid(self.fc2(self.relu(self.fc1(self.flatten(self.pool(x))))))
        # The channel-wise multiply is elementwise: 0 MACs by convention.
        return x * scale[:, :, None, None]


class Bottleneck(nn.Module):
    """ResNet-50 block: 1x1 reduce, 3x3, 1x1 expand (x4); stride on the 3x3 (v1.5) or 1x1 (v1).

    ``groups`` and ``base_width`` give ResNeXt's cardinality and bottleneck width;
    ``se_reduction`` adds a squeeze-and-excitation block before the residual addition.
    """

    expansion = 4

    def __init__(
        self,
        in_channels: int,
        planes: int,
        stride: int = 1,
        groups: int = 1,
        base_width: int = 64,
        stride_in_1x1: bool = False,
        se_reduction: int | None = None,
    ) -> None:
        super().__init__()
        _check_positive(in_channels=in_channels, planes=planes, groups=groups, stride=stride)
        # torchvision's width rule: ResNeXt 32x4d at planes=64 gives 32 * 4 = 128 channels.
        width = int(planes * (base_width / 64.0)) * groups
        if width <= 0:
            raise ValueError(f"bottleneck width {width} must be positive")
        out_channels = planes * self.expansion
        s1, s3 = (stride, 1) if stride_in_1x1 else (1, stride)
        self.conv1 = nn.Conv2d(in_channels, width, 1, s1, bias=False)  # (B, W, H/s1, W/s1)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(width, width, 3, s3, 1, groups=groups, bias=False)  # (B, W, H/s, .)
        self.bn2 = nn.BatchNorm2d(width)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv3 = nn.Conv2d(width, out_channels, 1, bias=False)  # (B, 4P, H/s, W/s)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.se = SqueezeExcitation(out_channels, se_reduction) if se_reduction else None
        self.downsample = _shortcut(in_channels, out_channels, stride)
        self.relu3 = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.se is not None:
            out = self.se(out)
        identity = self.downsample(x) if self.downsample is not None else x
        return self.relu3(out + identity)


class ResNeXtBlock(Bottleneck):
    """ResNeXt block: a bottleneck whose 3x3 is split into ``cardinality`` groups."""

    def __init__(
        self,
        in_channels: int,
        planes: int,
        stride: int = 1,
        cardinality: int = 32,
        bottleneck_width: int = 4,
    ) -> None:
        super().__init__(
            in_channels, planes, stride, groups=cardinality, base_width=bottleneck_width
        )


class DenseLayer(nn.Module):
    """DenseNet-BC layer: BN-ReLU-1x1 conv (to bn_size·k), BN-ReLU-3x3 conv (to k new maps)."""

    def __init__(self, in_channels: int, growth_rate: int, bn_size: int = 4) -> None:
        super().__init__()
        _check_positive(in_channels=in_channels, growth_rate=growth_rate, bn_size=bn_size)
        inner = bn_size * growth_rate
        self.norm1 = nn.BatchNorm2d(in_channels)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_channels, inner, 1, bias=False)  # (B, 4k, H, W)
        self.norm2 = nn.BatchNorm2d(inner)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(inner, growth_rate, 3, padding=1, bias=False)  # (B, k, H, W)

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv1(self.relu1(self.norm1(x)))
        return self.conv2(self.relu2(self.norm2(out)))


class DenseBlock(nn.Module):
    """Dense block: each layer sees the concatenation of the input and all earlier outputs."""

    def __init__(
        self, num_layers: int, in_channels: int, growth_rate: int, bn_size: int = 4
    ) -> None:
        super().__init__()
        _check_positive(num_layers=num_layers)
        self.out_channels = in_channels + num_layers * growth_rate
        for i in range(num_layers):
            layer = DenseLayer(in_channels + i * growth_rate, growth_rate, bn_size)
            self.add_module(f"denselayer{i + 1}", layer)

    def forward(self, x: Tensor) -> Tensor:
        features = [x]
        for layer in self.children():
            features.append(layer(torch.cat(features, 1)))  # input: (B, C0 + i·k, H, W)
        return torch.cat(features, 1)  # (B, C0 + L·k, H, W)


class Transition(nn.Sequential):
    """DenseNet transition: BN, ReLU, 1x1 conv (compression), 2x2 average pool."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(
            OrderedDict(
                norm=nn.BatchNorm2d(in_channels),
                relu=nn.ReLU(inplace=True),
                conv=nn.Conv2d(in_channels, out_channels, 1, bias=False),
                pool=nn.AvgPool2d(2, 2),  # (B, C', H/2, W/2)
            )
        )


class Fire(nn.Module):
    """SqueezeNet fire module: 1x1 squeeze, then 1x1 and 3x3 expands concatenated."""

    def __init__(
        self,
        in_channels: int,
        squeeze_planes: int,
        expand1x1_planes: int,
        expand3x3_planes: int,
        bypass: bool = False,
    ) -> None:
        super().__init__()
        _check_positive(
            in_channels=in_channels,
            squeeze_planes=squeeze_planes,
            expand1x1_planes=expand1x1_planes,
            expand3x3_planes=expand3x3_planes,
        )
        self.out_channels = expand1x1_planes + expand3x3_planes
        if bypass and self.out_channels != in_channels:
            raise ValueError(
                f"simple bypass needs e1x1 + e3x3 = in_channels, got {self.out_channels} vs"
                f" {in_channels}"
            )
        self.bypass = bypass
        self.squeeze = nn.Conv2d(in_channels, squeeze_planes, 1)  # (B, s1x1, H, W)
        self.squeeze_relu = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze_planes, expand1x1_planes, 1)  # (B, e1x1, H, W)
        self.expand1x1_relu = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze_planes, expand3x3_planes, 3, padding=1)  # (B, e3x3, .)
        self.expand3x3_relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        s = self.squeeze_relu(self.squeeze(x))
        out = torch.cat(
            [self.expand1x1_relu(self.expand1x1(s)), self.expand3x3_relu(self.expand3x3(s))], 1
        )  # (B, e1x1 + e3x3, H, W)
        return out + x if self.bypass else out


def _conv_relu(in_channels: int, out_channels: int, kernel_size: int) -> nn.Sequential:
    # GoogLeNet (2014) predates batch norm: convolutions carry a bias and go straight to ReLU.
    return nn.Sequential(
        OrderedDict(
            conv=nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2),
            relu=nn.ReLU(inplace=True),
        )
    )


class NaiveInception(nn.Module):
    """Naive inception module: parallel 1x1, 3x3, 5x5 convs and 3x3 max pool, concatenated."""

    def __init__(self, in_channels: int, ch1x1: int, ch3x3: int, ch5x5: int) -> None:
        super().__init__()
        self.branch1 = _conv_relu(in_channels, ch1x1, 1)
        self.branch2 = _conv_relu(in_channels, ch3x3, 3)
        self.branch3 = _conv_relu(in_channels, ch5x5, 5)
        self.branch4 = nn.MaxPool2d(3, 1, 1)
        # The pool branch passes all input channels through, so width only ever grows.
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + in_channels

    def forward(self, x: Tensor) -> Tensor:
        branches = [self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)]
        return torch.cat(branches, 1)  # (B, 1x1 + 3x3 + 5x5 + C_in, H, W)


@dataclass(frozen=True)
class InceptionConfig:
    """Channel counts of one GoogLeNet inception module (paper's Table 1 columns)."""

    in_channels: int
    ch1x1: int
    ch3x3red: int
    ch3x3: int
    ch5x5red: int
    ch5x5: int
    pool_proj: int

    @property
    def out_channels(self) -> int:
        """Channels after concatenating the four branches."""
        return self.ch1x1 + self.ch3x3 + self.ch5x5 + self.pool_proj


class Inception(nn.Module):
    """Inception module with 1x1 reductions before the 3x3 and 5x5 and after the pool."""

    def __init__(self, cfg: InceptionConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.branch1 = _conv_relu(cfg.in_channels, cfg.ch1x1, 1)
        self.branch2 = nn.Sequential(
            OrderedDict(
                reduce=_conv_relu(cfg.in_channels, cfg.ch3x3red, 1),
                conv=_conv_relu(cfg.ch3x3red, cfg.ch3x3, 3),
            )
        )
        # The paper's 5x5 (torchvision uses a 3x3 here by mistake; we keep the paper's).
        self.branch3 = nn.Sequential(
            OrderedDict(
                reduce=_conv_relu(cfg.in_channels, cfg.ch5x5red, 1),
                conv=_conv_relu(cfg.ch5x5red, cfg.ch5x5, 5),
            )
        )
        self.branch4 = nn.Sequential(
            OrderedDict(
                pool=nn.MaxPool2d(3, 1, 1), proj=_conv_relu(cfg.in_channels, cfg.pool_proj, 1)
            )
        )
        self.out_channels = cfg.out_channels

    def forward(self, x: Tensor) -> Tensor:
        branches = [self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)]
        return torch.cat(branches, 1)  # (B, out_channels, H, W)


def channel_shuffle(x: Tensor, groups: int) -> Tensor:
    """Interleave channels across ``groups``: view (B, g, C/g, H, W), swap g and C/g, flatten."""
    b, c, h, w = x.shape
    return x.view(b, groups, c // groups, h, w).transpose(1, 2).flatten(1, 2)


class ChannelShuffle(nn.Module):
    """ShuffleNet's channel shuffle, so that the next grouped conv sees every group."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        _check_positive(groups=groups)
        self.groups = groups

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[1] % self.groups:
            raise ValueError(f"channels {x.shape[1]} not divisible by groups {self.groups}")
        return channel_shuffle(x, self.groups)  # (B, C, H, W), channels permuted

    def extra_repr(self) -> str:
        return f"groups={self.groups}"


class ShuffleNetV1Unit(nn.Module):
    """ShuffleNet v1 unit: 1x1 GConv, shuffle, 3x3 DWConv, 1x1 GConv; add (s=1) or concat (s=2).

    At stride 2 the shortcut is a 3x3 average pool and the two paths are concatenated, so the
    residual path only produces ``out_channels - in_channels`` maps. The bottleneck has
    ``out_channels // 4`` channels. ``first_group_conv=False`` makes the first 1x1 ungrouped,
    as the paper does for Stage 2's first unit where the input has only 24 channels.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        groups: int,
        stride: int,
        first_group_conv: bool = True,
    ) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        if stride == 1 and in_channels != out_channels:
            raise ValueError("a stride-1 unit adds its input, so in and out channels must match")
        branch_out = out_channels - in_channels if stride == 2 else out_channels
        mid = out_channels // 4
        g1 = groups if first_group_conv else 1
        _check_positive(branch_out=branch_out, mid=mid)
        _check_divisible(mid, groups, "bottleneck channels")
        _check_divisible(branch_out, groups, "output channels")
        self.stride = stride
        self.gconv1 = ConvBNReLU(in_channels, mid, 1, groups=g1)  # (B, C/4, H, W)
        self.shuffle = ChannelShuffle(groups)
        self.dwconv = ConvBNReLU(mid, mid, 3, stride, groups=mid, activation=None)  # (., H/s, W/s)
        self.gconv2 = ConvBNReLU(mid, branch_out, 1, groups=groups, activation=None)
        self.shortcut = nn.AvgPool2d(3, 2, 1) if stride == 2 else None
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        out = self.gconv2(self.dwconv(self.shuffle(self.gconv1(x))))
        if self.shortcut is None:
            return self.relu(x + out)  # (B, C, H, W)
        return self.relu(torch.cat([self.shortcut(x), out], 1))  # (B, C_out, H/2, W/2)


class ShuffleNetV2Unit(nn.Module):
    """ShuffleNet v2 unit: channel split (s=1) or two strided branches (s=2), concat, shuffle."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        _check_divisible(out_channels, 2, "out_channels")
        branch = out_channels // 2
        if stride == 1 and in_channels != out_channels:
            raise ValueError("a stride-1 unit splits its input in two, so in must equal out")
        self.stride = stride
        if stride == 2:
            # Left branch: 3x3 depthwise (stride 2), then 1x1 - replaces the identity half.
            self.branch1: nn.Sequential | None = nn.Sequential(
                OrderedDict(
                    dwconv=ConvBNReLU(
                        in_channels, in_channels, 3, 2, groups=in_channels, activation=None
                    ),
                    conv=ConvBNReLU(in_channels, branch, 1),
                )
            )
        else:
            self.branch1 = None
        # Right branch: equal in and out widths on every conv (guideline G1 of the paper).
        self.branch2 = nn.Sequential(
            OrderedDict(
                conv1=ConvBNReLU(in_channels if stride == 2 else branch, branch, 1),
                dwconv=ConvBNReLU(branch, branch, 3, stride, groups=branch, activation=None),
                conv2=ConvBNReLU(branch, branch, 1),
            )
        )
        self.shuffle = ChannelShuffle(2)

    def forward(self, x: Tensor) -> Tensor:
        if self.branch1 is None:
            left, right = x.chunk(2, dim=1)  # channel split: two (B, C/2, H, W)
            out = torch.cat([left, self.branch2(right)], 1)
        else:
            out = torch.cat([self.branch1(x), self.branch2(x)], 1)  # (B, C_out, H/2, W/2)
        return self.shuffle(out)
