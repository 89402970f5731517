"""The registry of named architectures the service can profile, with their provenance."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch
from torch import nn

from models.errors import UnknownArchitectureError
from models.nets import (
    VGG,
    AlexNet,
    DenseNet,
    GoogLeNet,
    MobileNetV1,
    MobileNetV2,
    ResNet,
    ShuffleNetV1,
    ShuffleNetV2,
    SqueezeNet,
)

__all__ = [
    "Paper",
    "ArchSpec",
    "ARCHITECTURES",
    "architecture_names",
    "get_spec",
    "build_architecture",
]


@dataclass(frozen=True)
class Paper:
    """Bibliographic reference of the paper that introduced an architecture."""

    authors: tuple[str, ...]
    title: str
    year: int
    venue: str
    url: str

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "authors": list(self.authors),
            "title": self.title,
            "year": self.year,
            "venue": self.venue,
            "url": self.url,
        }


@dataclass(frozen=True)
class ArchSpec:
    """One registry entry: what the architecture is, which variant, and how to build it."""

    name: str
    title: str
    paper: Paper
    input_size: tuple[int, int, int]  # (C, H, W), batch excluded
    variant: str
    builder: Callable[[], nn.Module]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (the builder is left out)."""
        return {
            "name": self.name,
            "title": self.title,
            "paper": self.paper.to_dict(),
            "input_size": list(self.input_size),
            "variant": self.variant,
        }


ALEXNET = Paper(
    ("Alex Krizhevsky", "Ilya Sutskever", "Geoffrey E. Hinton"),
    "ImageNet Classification with Deep Convolutional Neural Networks",
    2012,
    "NeurIPS 2012",
    "https://papers.nips.cc/paper/2012/hash/c399862d3b9d6b76c8436e924a68c45b-Abstract.html",
)
VGG_PAPER = Paper(
    ("Karen Simonyan", "Andrew Zisserman"),
    "Very Deep Convolutional Networks for Large-Scale Image Recognition",
    2015,
    "ICLR 2015",
    "https://arxiv.org/abs/1409.1556",
)
GOOGLENET = Paper(
    (
        "Christian Szegedy",
        "Wei Liu",
        "Yangqing Jia",
        "Pierre Sermanet",
        "Scott Reed",
        "Dragomir Anguelov",
        "Dumitru Erhan",
        "Vincent Vanhoucke",
        "Andrew Rabinovich",
    ),
    "Going Deeper with Convolutions",
    2015,
    "CVPR 2015",
    "https://arxiv.org/abs/1409.4842",
)
RESNET = Paper(
    ("Kaiming He", "Xiangyu Zhang", "Shaoqing Ren", "Jian Sun"),
    "Deep Residual Learning for Image Recognition",
    2016,
    "CVPR 2016",
    "https://arxiv.org/abs/1512.03385",
)
RESNEXT = Paper(
    ("Saining Xie", "Ross Girshick", "Piotr Dollár", "Zhuowen Tu", "Kaiming He"),
    "Aggregated Residual Transformations for Deep Neural Networks",
    2017,
    "CVPR 2017",
    "https://arxiv.org/abs/1611.05431",
)
SENET = Paper(
    ("Jie Hu", "Li Shen", "Gang Sun"),
    "Squeeze-and-Excitation Networks",
    2018,
    "CVPR 2018",
    "https://arxiv.org/abs/1709.01507",
)
DENSENET = Paper(
    ("Gao Huang", "Zhuang Liu", "Laurens van der Maaten", "Kilian Q. Weinberger"),
    "Densely Connected Convolutional Networks",
    2017,
    "CVPR 2017",
    "https://arxiv.org/abs/1608.06993",
)
SQUEEZENET = Paper(
    (
        "Forrest N. Iandola",
        "Song Han",
        "Matthew W. Moskewicz",
        "Khalid Ashraf",
        "William J. Dally",
        "Kurt Keutzer",
    ),
    "SqueezeNet: AlexNet-level accuracy with 50x fewer parameters and <0.5MB model size",
    2016,
    "arXiv 2016",
    "https://arxiv.org/abs/1602.07360",
)
MOBILENET_V1 = Paper(
    (
        "Andrew G. Howard",
        "Menglong Zhu",
        "Bo Chen",
        "Dmitry Kalenichenko",
        "Weijun Wang",
        "Tobias Weyand",
        "Marco Andreetto",
        "Hartwig Adam",
    ),
    "MobileNets: Efficient Convolutional Neural Networks for Mobile Vision Applications",
    2017,
    "arXiv 2017",
    "https://arxiv.org/abs/1704.04861",
)
MOBILENET_V2 = Paper(
    ("Mark Sandler", "Andrew Howard", "Menglong Zhu", "Andrey Zhmoginov", "Liang-Chieh Chen"),
    "MobileNetV2: Inverted Residuals and Linear Bottlenecks",
    2018,
    "CVPR 2018",
    "https://arxiv.org/abs/1801.04381",
)
SHUFFLENET_V1 = Paper(
    ("Xiangyu Zhang", "Xinyu Zhou", "Mengxiao Lin", "Jian Sun"),
    "ShuffleNet: An Extremely Efficient Convolutional Neural Network for Mobile Devices",
    2018,
    "CVPR 2018",
    "https://arxiv.org/abs/1707.01083",
)
SHUFFLENET_V2 = Paper(
    ("Ningning Ma", "Xiangyu Zhang", "Hai-Tao Zheng", "Jian Sun"),
    "ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture Design",
    2018,
    "ECCV 2018",
    "https://arxiv.org/abs/1807.11164",
)

_IMAGENET = (3, 224, 224)
_TV = "parameter layout identical to torchvision's"


def _spec(
    name: str,
    title: str,
    paper: Paper,
    variant: str,
    builder: Callable[[], nn.Module],
    input_size: tuple[int, int, int] = _IMAGENET,
) -> ArchSpec:
    return ArchSpec(name, title, paper, input_size, variant, builder)


_SPECS: list[ArchSpec] = [
    _spec(
        "alexnet",
        "AlexNet",
        ALEXNET,
        "torchvision's single-tower AlexNet (64-192-384-256-256, from the one-GPU configuration"
        " of Krizhevsky's cuda-convnet2; his 2014 'One weird trick' paper has 384 filters in"
        " conv4), not the paper's two-GPU 96-256-384-384-256 version; no LRN; "
        + _TV
        + ". Layers are named conv1 ... fc8; 227x227 gives the classic 56x56 conv1 output.",
        AlexNet,
        (3, 227, 227),
    ),
    _spec(
        "vgg16",
        "VGG-16",
        VGG_PAPER,
        "configuration D without batch norm, adaptive 7x7 pool before the classifier; " + _TV,
        partial(VGG, 16),
    ),
    _spec(
        "vgg19",
        "VGG-19",
        VGG_PAPER,
        "configuration E without batch norm, adaptive 7x7 pool before the classifier; " + _TV,
        partial(VGG, 19),
    ),
    _spec(
        "googlenet",
        "GoogLeNet (Inception v1)",
        GOOGLENET,
        "the paper's network (Table 1): 5x5 convolutions in the third branch (torchvision uses"
        " 3x3 there), biased convolutions with ReLU and LRN instead of batch norm, no auxiliary"
        " classifiers (they are dropped at inference)",
        GoogLeNet,
    ),
    _spec(
        "resnet18",
        "ResNet-18",
        RESNET,
        "basic blocks [2, 2, 2, 2], projection shortcuts (option B) when shapes change; " + _TV,
        partial(ResNet, "basic", (2, 2, 2, 2)),
    ),
    _spec(
        "resnet34",
        "ResNet-34",
        RESNET,
        "basic blocks [3, 4, 6, 3], projection shortcuts (option B) when shapes change; " + _TV,
        partial(ResNet, "basic", (3, 4, 6, 3)),
    ),
    _spec(
        "resnet50",
        "ResNet-50 (v1.5)",
        RESNET,
        "v1.5: bottleneck stride on the 3x3 convolution (torchvision's and NVIDIA's variant,"
        " about 0.2 GMACs more than the paper's); " + _TV,
        partial(ResNet, "bottleneck", (3, 4, 6, 3)),
    ),
    _spec(
        "resnet50_v1",
        "ResNet-50 (v1, paper)",
        RESNET,
        "the paper's v1: bottleneck stride on the first 1x1 convolution; same parameters as"
        " v1.5, fewer MACs",
        partial(ResNet, "bottleneck", (3, 4, 6, 3), stride_in_1x1=True),
    ),
    _spec(
        "resnext50_32x4d",
        "ResNeXt-50 (32x4d)",
        RESNEXT,
        "cardinality 32, bottleneck width 4 (grouped 3x3), stride on the 3x3; " + _TV,
        partial(ResNet, "bottleneck", (3, 4, 6, 3), groups=32, base_width=4),
    ),
    _spec(
        "se_resnet50",
        "SE-ResNet-50",
        SENET,
        "ResNet-50 v1 (stride on the first 1x1, as in the SENet paper's ResNet-50 baseline at"
        " 3.86 GFLOPs) with an SE block (r = 16, fully connected layers with biases) on each"
        " residual branch before the addition",
        partial(ResNet, "bottleneck", (3, 4, 6, 3), stride_in_1x1=True, se_reduction=16),
    ),
    _spec(
        "densenet121",
        "DenseNet-121",
        DENSENET,
        "DenseNet-BC, growth rate k = 32, blocks (6, 12, 24, 16), bottleneck 4k, compression"
        " 0.5; " + _TV,
        DenseNet,
    ),
    _spec(
        "squeezenet1_0",
        "SqueezeNet 1.0",
        SQUEEZENET,
        "the paper's SqueezeNet without bypass (7x7 stem, 96 filters); " + _TV,
        partial(SqueezeNet, "1_0"),
    ),
    _spec(
        "squeezenet1_1",
        "SqueezeNet 1.1",
        SQUEEZENET,
        "SqueezeNet 1.1 from DeepScale's repository (3x3 stem with 64 filters, pooling moved"
        " earlier, 2.4x fewer MACs than 1.0); " + _TV,
        partial(SqueezeNet, "1_1"),
    ),
    _spec(
        "mobilenet_v1",
        "MobileNet v1 (1.0, 224)",
        MOBILENET_V1,
        "width multiplier 1.0 at 224x224, ReLU (not ReLU6), batch norm after every conv, last"
        " depthwise conv at stride 1 (the paper's table misprints s2)",
        MobileNetV1,
    ),
    _spec(
        "mobilenet_v2",
        "MobileNet v2 (1.0, 224)",
        MOBILENET_V2,
        "width multiplier 1.0 at 224x224, ReLU6, expansion t = 6 (1 in the first block); " + _TV,
        MobileNetV2,
    ),
    _spec(
        "shufflenet_v1_g3",
        "ShuffleNet v1 1x (g = 3)",
        SHUFFLENET_V1,
        "scale 1x, 3 groups, stages 240-480-960; bottleneck = 1/4 of the output channels;"
        " Stage 2's first 1x1 is not grouped (as the paper says)",
        partial(ShuffleNetV1, 3),
    ),
    _spec(
        "shufflenet_v1_g8",
        "ShuffleNet v1 1x (g = 8)",
        SHUFFLENET_V1,
        "scale 1x, 8 groups, stages 384-768-1536; bottleneck = 1/4 of the output channels;"
        " Stage 2's first 1x1 is not grouped (as the paper says)",
        partial(ShuffleNetV1, 8),
    ),
    _spec(
        "shufflenet_v2_x0_5",
        "ShuffleNet v2 0.5x",
        SHUFFLENET_V2,
        "width 0.5x: stages 48-96-192, conv5 1024; " + _TV,
        partial(ShuffleNetV2, "0.5"),
    ),
    _spec(
        "shufflenet_v2_x1_0",
        "ShuffleNet v2 1.0x",
        SHUFFLENET_V2,
        "width 1.0x: stages 116-232-464, conv5 1024; " + _TV,
        partial(ShuffleNetV2, "1.0"),
    ),
    _spec(
        "shufflenet_v2_x1_5",
        "ShuffleNet v2 1.5x",
        SHUFFLENET_V2,
        "width 1.5x: stages 176-352-704, conv5 1024; " + _TV,
        partial(ShuffleNetV2, "1.5"),
    ),
    _spec(
        "shufflenet_v2_x2_0",
        "ShuffleNet v2 2.0x",
        SHUFFLENET_V2,
        "width 2.0x: stages 244-488-976, conv5 2048; " + _TV,
        partial(ShuffleNetV2, "2.0"),
    ),
]

ARCHITECTURES: dict[str, ArchSpec] = {spec.name: spec for spec in _SPECS}


def architecture_names() -> list[str]:
    """Registry names in registry order."""
    return list(ARCHITECTURES)


def get_spec(name: str) -> ArchSpec:
    """The registry entry for ``name``; raises UnknownArchitectureError if there is none."""
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise UnknownArchitectureError(name, architecture_names()) from None


def build_architecture(name: str, device: str | torch.device = "meta") -> nn.Module:
    """Build a registry architecture, by default on the meta device (no weights allocated)."""
    spec = get_spec(name)
    with torch.device(device):
        return spec.builder()
