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
    macs, params = 64 * 56 * 56 * 3 * 11 * 11, 64 * 3 * 11 * 11 + 64
    assert conv1 == {
        "name": "conv1", "type": "Conv2d", "input_shape": [1, 3, 227, 227],
        "output_shape": [1, 64, 56, 56], "params": params,
        "macs": macs, "flops": 2 * macs,
        "activation_bytes": 784 * 1024, "weight_bytes": 4 * 23_296,
        # What makes the row cost what it does, and its share of the whole network.
        "kernel": [11, 11], "stride": [4, 4], "padding": [2, 2], "dilation": [1, 1], "groups": 1,
        "percent_macs": round(100 * macs / body["totals"]["macs"], 2),
        "percent_params": round(100 * params / 61_100_840, 2),
        "aliases_input": False, "kind": "conv 11×11", "stage": "conv1",
    }  # fmt: skip
    relu1 = next(layer for layer in body["layers"] if layer["name"] == "relu1")
    assert relu1["aliases_input"] and relu1["kernel"] is None and relu1["stage"] == "conv1"
    pool1 = next(layer for layer in body["layers"] if layer["name"] == "pool1")
    assert (pool1["kernel"], pool1["stride"], pool1["groups"]) == ([3, 3], [2, 2], None)
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
    assert err["index"] == index and err["loc"][:3] == ["body", "layers", index]
    assert err["loc"][3:] == ([err["field"]] if err["field"] else [])  # the field at fault
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


# --- where the compute goes: summaries, comparisons ------------------------------------------


def test_profile_summaries_add_up(client) -> None:
    body = client.get("/architectures/mobilenet_v2/profile").json()
    totals = body["totals"]
    for key in ("by_type", "by_stage"):
        shares = body[key]
        assert sum(s["macs"] for s in shares) == totals["macs"]
        assert sum(s["params"] for s in shares) == totals["params"]
        assert sum(round(100 * s["percent_macs"]) for s in shares) == 10_000
        assert sum(round(100 * s["percent_params"]) for s in shares) == 10_000
        assert sum(s["layers"] for s in shares) == len(body["layers"])
    kinds = {s["name"]: s for s in body["by_type"]}
    pointwise = sum(la["macs"] for la in body["layers"] if la["kind"] == "conv 1×1")
    assert kinds["conv 1×1"]["macs"] == pointwise
    assert [s["name"] for s in body["by_stage"]][:3] == ["stem", "16 ch × 1", "24 ch × 2"]
    assert "largest remainder" in body["conventions"]["percent_macs"]
    # In-place outputs are not counted twice in the live peak, and it is no bigger than the sum.
    assert totals["peak_activation_bytes"] <= totals["peak_live_activation_bytes"]
    assert totals["peak_live_activation_bytes"] < totals["activation_bytes"]


def test_compare_gives_the_same_summaries_side_by_side(client) -> None:
    r = client.get("/architectures/compare", params={"names": "mobilenet_v2, shufflenet_v2_x1_0"})
    assert r.status_code == 200
    body = r.json()
    assert [a["name"] for a in body["architectures"]] == ["mobilenet_v2", "shufflenet_v2_x1_0"]
    for summary in body["architectures"]:
        single = client.get(f"/architectures/{summary['name']}/profile").json()
        assert summary["totals"] == single["totals"]
        assert summary["by_type"] == single["by_type"]
        assert summary["by_stage"] == single["by_stage"]
        assert summary["input_shape"] == single["input_shape"] == [1, 3, 224, 224]
        assert summary["title"] and summary["variant"]
    half = client.get(
        "/architectures/compare", params={"names": "alexnet", "dtype": "float16", "batch": 2}
    ).json()
    alex = client.get("/architectures/alexnet/profile").json()["totals"]
    assert half["dtype"] == "float16" and half["batch"] == 2
    assert half["architectures"][0]["totals"]["macs"] == 2 * alex["macs"]
    assert half["architectures"][0]["totals"]["weight_bytes"] == alex["weight_bytes"] // 2


@pytest.mark.parametrize(
    ("names", "status", "fragment"),
    [
        ("alexnet,nope", 404, "no architecture nope"),
        ("", 422, "1 to 4"),
        ("alexnet,,vgg16", 422, "1 to 4"),
        ("alexnet,vgg16,vgg19,resnet18,resnet34", 422, "1 to 4"),
        ("alexnet,alexnet", 422, "at most once"),
        ("x" * 201, 422, "200"),
    ],
)
def test_compare_rejections(client, names, status, fragment) -> None:
    r = client.get("/architectures/compare", params={"names": names})
    assert r.status_code == status
    assert fragment in str(r.json()["detail"])
    assert client.get("/architectures/compare").status_code == 422  # names is required


# --- POST /profile, documented by example ------------------------------------------------------


def _request_schema(client) -> dict:
    schema = client.get("/openapi.json").json()
    ref = schema["paths"]["/profile"]["post"]["requestBody"]["content"]["application/json"]
    name = ref["schema"]["$ref"].rsplit("/", 1)[-1]
    return schema["components"]["schemas"][name]


def test_openapi_lists_every_layer_type_with_its_fields(client) -> None:
    from models import LAYER_TYPES, MAX_LAYERS

    request = _request_schema(client)
    layers = request["properties"]["layers"]
    assert layers["maxItems"] == MAX_LAYERS and layers["minItems"] == 1
    variants = {v["properties"]["type"]["const"]: v for v in layers["items"]["oneOf"]}
    assert set(variants) == set(LAYER_TYPES)
    for kind, fields in LAYER_TYPES.items():
        variant = variants[kind]
        assert set(variant["properties"]) == {"type", *fields}, kind
        required = {name for name, f in fields.items() if f.required}
        assert set(variant["required"]) == {"type", *required}, kind
        assert variant["additionalProperties"] is False
        for name, f in fields.items():
            prop = variant["properties"][name]
            if f.required or f.default is None:  # OpenAPI output drops a null default
                assert prop.get("default") is None, (kind, name)
            else:
                assert prop["default"] == f.default, (kind, name)
            if f.optional:
                assert {"type": "null"} in prop["anyOf"], (kind, name)
        assert variant["examples"][0]["type"] == kind  # each type shows a layer of the example
    conv = variants["conv2d"]["properties"]
    assert conv["groups"] == {"type": "integer", "minimum": 1, "maximum": 2**31 - 1, "default": 1}
    assert conv["kernel_size"]["anyOf"][1]["maxItems"] == 2
    assert variants["inverted_residual"]["properties"]["stride"]["maximum"] == 2
    assert request["properties"]["batch"]["maximum"] == 1024


def test_the_documented_example_profiles(client) -> None:
    from models import LAYER_TYPES, profile_spec

    (example,) = _request_schema(client)["examples"]
    assert {layer["type"] for layer in example["layers"]} == set(LAYER_TYPES)
    r = client.post("/profile", json=example)
    assert r.status_code == 200, r.text
    body = r.json()
    truth = profile_spec(example["input_shape"], example["layers"], example["batch"])
    assert body["totals"]["macs"] == truth.macs and body["totals"]["params"] == truth.params
    assert body["output_shape"] == [1, 10]
    # A layer stack is summarised layer by layer: one stage per top-level layer.
    stages = [s["name"] for s in body["by_stage"]]
    assert len(stages) == len(example["layers"])
    assert stages[:2] == ["0 (Conv2d)", "1 (BatchNorm2d)"] and stages[4] == "4 (Fire)"
    fire = body["by_stage"][4]
    assert fire["macs"] == sum(la["macs"] for la in body["layers"] if la["name"].startswith("4."))


def test_container_rows_have_no_kind(client) -> None:
    body = client.get("/architectures/resnet18/profile", params={"leaf_only": "false"}).json()
    root = body["layers"][0]
    assert root["name"] == "" and root["kind"] == "" and root["percent_macs"] == 100.0
    layer1 = next(la for la in body["layers"] if la["name"] == "layer1")
    assert layer1["kind"] == "" and layer1["stage"] == "layer1"
    assert next(la for la in body["layers"] if la["name"] == "conv1")["kind"] == "conv 7×7"
    # The summaries count leaf layers only, so containers are not counted twice.
    assert sum(s["macs"] for s in body["by_type"]) == body["totals"]["macs"]
