"""The truth engine over HTTP: architectures, their profiles and custom layer stacks."""

from __future__ import annotations

import pytest

NAMES = {
    "alexnet", "vgg16", "vgg19", "googlenet", "resnet18", "resnet34", "resnet50", "resnet50_v1",
    "resnext50_32x4d", "se_resnet50", "densenet121", "squeezenet1_0", "squeezenet1_1",
    "mobilenet_v1", "mobilenet_v2", "shufflenet_v1_g3", "shufflenet_v1_g8", "shufflenet_v2_x0_5",
    "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0",
}  # fmt: skip


def test_architecture_list(client) -> None:
    archs = client.get("/architectures").json()
    assert {a["name"] for a in archs} == NAMES
    alex = next(a for a in archs if a["name"] == "alexnet")
    assert alex["default_input"] == [3, 227, 227] and alex["paper"]["year"] == 2012
    assert all(a["title"] and a["variant"] and a["paper"]["title"] for a in archs)


def test_alexnet_profile_over_http(client) -> None:
    body = client.get("/architectures/alexnet/profile", params={"input_size": 227}).json()
    assert body["input_shape"] == [1, 3, 227, 227] and body["output_shape"] == [1, 1000]
    conv1 = next(layer for layer in body["layers"] if layer["name"] == "conv1")
    # 64 filters of 3×11×11 plus 64 biases; 64·56·56 outputs × 363 MACs each; 4 bytes each.
    assert conv1 == {
        "name": "conv1", "type": "Conv2d", "input_shape": [1, 3, 227, 227],
        "output_shape": [1, 64, 56, 56], "params": 64 * 3 * 11 * 11 + 64,
        "macs": 64 * 56 * 56 * 3 * 11 * 11, "flops": 2 * 64 * 56 * 56 * 3 * 11 * 11,
        "activation_bytes": 784 * 1024, "weight_bytes": 4 * 23_296,
    }  # fmt: skip
    assert body["totals"]["params"] == 61_100_840  # torchvision's AlexNet
    assert body["totals"]["flops"] == 2 * body["totals"]["macs"]
    assert "buffers" in body["conventions"]["params"]
    half = client.get(
        "/architectures/alexnet/profile", params={"input_size": 227, "dtype": "float16"}
    ).json()
    assert half["totals"]["activation_bytes"] * 2 == body["totals"]["activation_bytes"]
    b4 = client.get("/architectures/alexnet/profile", params={"input_size": 227, "batch": 4}).json()
    assert b4["totals"]["macs"] == 4 * body["totals"]["macs"]
    assert b4["totals"]["params"] == body["totals"]["params"]


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/architectures/nope/profile", {}, 404),
        ("/architectures/alexnet/profile", {"input_size": 8}, 422),
        ("/architectures/alexnet/profile", {"input_size": 5000}, 422),
        ("/architectures/alexnet/profile", {"batch": 0}, 422),
        ("/architectures/alexnet/profile", {"dtype": "float64"}, 422),
    ],
)
def test_profile_rejections(client, path, params, status) -> None:
    r = client.get(path, params=params)
    assert r.status_code == status and "detail" in r.json()


def test_custom_stack(client) -> None:
    spec = {
        "input_shape": [3, 32, 32],
        "layers": [
            {"type": "conv2d", "out_channels": 16, "kernel_size": 3, "padding": 1, "bias": False},
            {"type": "batchnorm2d"},
            {"type": "relu"},
            {"type": "channel_shuffle", "groups": 4},
            {"type": "maxpool2d", "kernel_size": 2, "stride": 2},
            {"type": "flatten"},
            {"type": "linear", "out_features": 10},
        ],
    }
    body = client.post("/profile", json=spec).json()
    shapes = [layer["output_shape"] for layer in body["layers"]]
    assert shapes == [[1, 16, 32, 32]] * 4 + [[1, 16, 16, 16], [1, 4096], [1, 10]]
    assert body["totals"]["params"] == 16 * 27 + 2 * 16 + 4096 * 10 + 10  # BN buffers excluded
    assert body["totals"]["macs"] == 16 * 32 * 32 * 27 + 4096 * 10


@pytest.mark.parametrize(
    ("layers", "index", "fragment"),
    [
        ([{"type": "conv2d", "out_channels": 10**9, "kernel_size": 3}], 0, "65536"),
        (
            [{"type": "relu"}, {"type": "conv2d", "out_channels": -4, "kernel_size": 3}],
            1,
            "positive",
        ),
        ([{"type": "conv2d", "out_channels": 8, "kernel_size": 64}], 0, "kernel"),
        ([{"type": "conv2d", "out_channels": 8, "kernel_size": 3, "groups": 2}], 0, "divisible"),
        ([{"type": "teleport"}], 0, "unknown"),
        ([{"type": "conv2d", "out_channels": 8.5, "kernel_size": 3}], 0, "int"),
    ],
)
def test_invalid_specs_name_the_layer(client, layers, index, fragment) -> None:
    r = client.post("/profile", json={"input_shape": [3, 32, 32], "layers": layers})
    assert r.status_code == 422
    err = r.json()["detail"][0]
    assert err["index"] == index and err["loc"] == ["body", "layers", index]
    assert fragment in err["msg"].lower()


def test_spec_limits(client) -> None:
    many = [{"type": "relu"}] * 501
    r = client.post("/profile", json={"input_shape": [3, 8, 8], "layers": many})
    assert r.status_code == 422 and "500" in r.json()["detail"][0]["msg"]
    r = client.post("/profile", json={"input_shape": [3, 5000, 5000], "layers": [{"type": "relu"}]})
    assert r.status_code == 422 and "4096" in r.json()["detail"][0]["msg"]
    r = client.post(
        "/profile", json={"input_shape": [3, 8, 8], "batch": 2000, "layers": [{"type": "relu"}]}
    )
    assert r.status_code == 422 and "1024" in r.json()["detail"][0]["msg"]
    huge = [{"type": "conv2d", "out_channels": 65536, "kernel_size": 31, "padding": 15}] * 2
    r = client.post("/profile", json={"input_shape": [65536, 4096, 4096], "layers": huge})
    assert r.status_code == 422 and "MACs" in r.json()["detail"][0]["msg"]
