"""Official release files load through ``hdrbench.load_model`` / ``predict --checkpoint`` and give the official output.

The reference (independent of this project's code): checkpoints in each official format with the official
key names and the outputs of the authors' own network code for a fixed input (``tests/data/official/``, the
large cases from ``../shared/reference/official/``). Everything goes through the path a user's
``--checkpoint`` takes: file-type detection, the method's ``convert_official_state_dict`` hook, options
implied by the file, ``predict_image``.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import hdrbench
from hdrbench.errors import HDRBenchError

TOL = 1e-5  # relative: max |ours − official| / max |official|
HERE = Path(__file__).resolve().parent / "data" / "official"
#: The shared reference set next to the repository (``HDRBENCH_SHARED`` overrides where ``shared/`` is).
SHARED = Path(os.environ.get("HDRBENCH_SHARED", Path(__file__).resolve().parents[1].parent / "shared")) / "reference" \
    / "official"


def case(name: str) -> Path:
    """The case folder, from tests/data or ../shared; skip when neither has it."""
    for root in (HERE, SHARED):
        if (root / name / "output.npy").is_file():
            return root / name
    pytest.skip(f"official reference case '{name}' is not in tests/data/official and {SHARED} does not exist "
                "(the large cases live in the shared reference set)")


def rel(ours: np.ndarray | torch.Tensor, ref: np.ndarray) -> float:
    ours = ours.detach().cpu().numpy() if isinstance(ours, torch.Tensor) else ours
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    return float(np.abs(ours - ref).max() / np.abs(ref).max())


def load(name: str, checkpoint, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the notes about the released models' output domains
        return hdrbench.load_model(name, checkpoint, **options)


def ldr_of(folder: Path) -> np.ndarray:
    """The 8-bit LDR the case was made from, ``(H, W, 3)`` RGB uint8; it is exactly the network input × 255."""
    ldr = np.load(folder / "ldr_u8.npy")
    x = np.load(folder / "input.npy")
    if x.min() >= 0:  # [0, 1] inputs (FHDR's is [-1, 1])
        np.testing.assert_array_equal(ldr.transpose(2, 0, 1)[None].astype(np.float32) / 255.0, x)
    return ldr


def hdrtv_files(*stages: str) -> list[Path]:
    names = {"agcm": "agcm/AGCM_G.pth", "le": "le/LE_weights.pth", "hg": "hg_nf16/HG_nf16_weights.pth"}
    return [case(f"hdrtv/{names[s].split('/')[0]}") / names[s].split("/")[1] for s in stages]


# -- HDRUNet, KUNet, FHDR: predict_image on the 8-bit LDR ---------------------------------------------------
@pytest.mark.parametrize("name, file", [("hdrunet", "pretrained_model.pth"), ("kunet", "latest_G.pth")])
def test_hdrunet_kunet_official_output(name: str, file: str) -> None:
    folder = case(name)
    method, net = load(name, folder / file)
    out = hdrbench.predict_image(method, net, ldr_of(folder))  # (H, W, 3), negatives clipped as officially saved
    ref = np.maximum(np.load(folder / "output.npy")[0].transpose(1, 2, 0), 0)
    assert rel(out, ref) < TOL
    raw = method.forward(net, torch.from_numpy(np.load(folder / "input.npy")))
    assert rel(raw, np.load(folder / "output.npy")) < TOL


@pytest.mark.parametrize("iterations, ref_file", [(1, "output.npy"), (4, "output_iter4.npy")])
def test_fhdr_official_output(iterations: int, ref_file: str) -> None:
    folder = case("fhdr")
    method, net = load("fhdr", folder / "latest.ckpt", iterations=iterations)
    out = hdrbench.predict_image(method, net, ldr_of(folder))
    official = np.load(folder / ref_file)[0].transpose(1, 2, 0)  # tanh output in [-1, 1]
    assert rel(out, (official + 1) / 2) < TOL
    other = np.load(folder / ("output_iter4.npy" if iterations == 1 else "output.npy"))[0].transpose(1, 2, 0)
    assert rel(out, (other + 1) / 2) > 10 * TOL  # the reference separates the iteration counts (4e-4 apart)


# -- HDRTVNet: each stage, and the official cascade from the 8-bit LDR --------------------------------------
def test_hdrtv_agcm_stage() -> None:
    from baselines.hdrtv import official_cascade, png16

    folder = case("hdrtv/agcm")
    method, net = load("hdrtv", hdrtv_files("agcm"), stage="agcm")
    assert method.options["pipeline"] == "official"
    x = torch.from_numpy(np.load(folder / "input.npy"))
    from hdrbench.metrics.hdrvdp2.resize import imresize_by_scale

    assert rel(imresize_by_scale(x, 0.25), np.load(folder / "cond.npy")) < 1e-6  # = the official imresize_np
    assert rel(net.agcm(x, torch.from_numpy(np.load(folder / "cond.npy"))), np.load(folder / "output.npy")) < TOL
    assert rel(official_cascade(net, x, "agcm")["agcm"], np.load(folder / "output.npy")) < TOL  # our imresize_np
    out = hdrbench.predict_image(method, net, ldr_of(folder))  # what the official test writes: a 16-bit PNG
    ref = png16(torch.from_numpy(np.load(folder / "output.npy")))[0].permute(1, 2, 0).numpy()
    assert np.abs(out - ref).max() <= 1 / 65535 + 1e-7


@pytest.mark.parametrize("stage, folder_name, inputs", [
    ("le", "le", ("input.npy",)), ("le", "le", ("input_direct.npy",)),
    ("hg", "hg_nf16", ("input.npy", "mask.npy")), ("hg", "hg_nf16", ("input_direct.npy", "mask.npy"))])
def test_hdrtv_le_hg_stages(stage: str, folder_name: str, inputs: tuple[str, ...]) -> None:
    folder = case(f"hdrtv/{folder_name}")
    stages = ("agcm", "le", "hg")[: ("agcm", "le", "hg").index(stage) + 1]
    method, net = load("hdrtv", hdrtv_files(*stages), stage=stage)
    args = [torch.from_numpy(np.load(folder / f)) for f in inputs]
    ref = np.load(folder / inputs[0].replace("input", "output"))
    assert rel(getattr(net, stage)(*args), ref) < TOL


def test_hdrtv_official_cascade_from_ldr() -> None:
    """The official test-time chain from the 8-bit SDR: imresize_np condition, 16-bit PNGs between stages,
    HG's input and mask resized to multiples of 32 (67×93 → LE 68×94 → HG 96×96)."""
    from baselines.hdrtv import cv2_resize, highlight_mask, official_cascade, png16

    method, net = load("hdrtv", hdrtv_files("agcm", "le", "hg"))
    assert method.options["hg_nf"] == 16 and method.options["pipeline"] == "official"
    ldr = ldr_of(case("hdrtv/agcm"))
    x = torch.from_numpy(ldr).permute(2, 0, 1)[None].float() / 255.0
    with torch.no_grad():
        outs = official_cascade(net, x)
    mask = highlight_mask(cv2_resize(x, (96, 96))).expand(-1, 3, -1, -1)  # scripts/generate_mask.py
    np.testing.assert_array_equal(mask.numpy(), np.load(case("hdrtv/hg_nf16") / "mask.npy"))
    assert rel(outs["agcm"], np.load(case("hdrtv/agcm") / "output.npy")) < TOL
    # LE and HG read the previous stage through a 16-bit PNG: where a value lies within float rounding of a level
    # boundary, a rounding moves it by one level (1/65535; bilinear resizing keeps that bound), never more. So the
    # chain's stage inputs equal the official ones to one level, and each output is within TOL (the stage on the
    # official input, test_hdrtv_le_hg_stages) plus the stage's own response to those level steps.
    mask = torch.from_numpy(np.load(case("hdrtv/hg_nf16") / "mask.npy"))
    inputs = {"le": png16(outs["agcm"]), "hg": cv2_resize(png16(outs["le"]), (96, 96))}
    for stage, folder in (("le", "le"), ("hg", "hg_nf16")):
        official_input = torch.from_numpy(np.load(case(f"hdrtv/{folder}") / "input.npy"))
        assert float((inputs[stage] - official_input).abs().max()) <= 1.001 / 65535, stage
        with torch.no_grad():
            on_official = getattr(net, stage)(official_input, *([mask] if stage == "hg" else [])).numpy()
        steps = rel(outs[stage], on_official)  # the stage's response to the level steps of its input
        assert rel(outs[stage], np.load(case(f"hdrtv/{folder}") / "output.npy")) < TOL + steps, (stage, steps)
    out = hdrbench.predict_image(method, net, ldr)
    assert out.shape == ldr.shape and np.isfinite(out).all() and 0 <= out.min() and out.max() <= 1


def test_hdrtv_project_pipeline_differs_from_official() -> None:
    """With pipeline=project the same weights compute the project's own chain (no PNG quantisation, bicubic
    F.interpolate condition of at least 32 px, padding to 32): a different result, as documented."""
    ldr = ldr_of(case("hdrtv/agcm"))
    files = hdrtv_files("agcm", "le", "hg")
    m1, n1 = load("hdrtv", files)
    m2, n2 = load("hdrtv", files, pipeline="project")
    a, b = hdrbench.predict_image(m1, n1, ldr), hdrbench.predict_image(m2, n2, ldr)
    assert np.abs(a - b).max() > 1e-3


# -- the CLI ---------------------------------------------------------------------------------------------
def test_predict_cli_official_checkpoint(tmp_path: Path, cli) -> None:
    from hdrbench import io

    folder = case("fhdr")
    png = tmp_path / "ldr.png"
    io.opencv().imwrite(str(png), np.ascontiguousarray(ldr_of(folder)[..., ::-1]))
    out = tmp_path / "out.exr"
    proc = cli("predict", "--method", "fhdr", "--option", "iterations=1", "--checkpoint", folder / "latest.ckpt",
               "--device", "cpu", png, out)
    assert proc.returncode == 0, proc.stderr
    official = np.load(folder / "output.npy")[0].transpose(1, 2, 0)
    assert rel(io.read_hdr(out), (official + 1) / 2) < TOL


def test_cli_hdrtv_three_stage_files(tmp_path: Path, cli) -> None:
    from hdrbench import io

    files = hdrtv_files("agcm", "le", "hg")
    png = tmp_path / "sdr.png"
    ldr = ldr_of(case("hdrtv/agcm"))
    io.opencv().imwrite(str(png), np.ascontiguousarray(ldr[..., ::-1]))
    proc = cli("predict", "--method", "hdrtv", "--device", "cpu", *[a for f in files for a in ("--checkpoint", f)],
               png, tmp_path / "o.exr")
    assert proc.returncode == 0, proc.stderr
    method, net = load("hdrtv", files)
    np.testing.assert_allclose(io.read_hdr(tmp_path / "o.exr"), hdrbench.predict_image(method, net, ldr), atol=1e-6)


# -- wrong files: one line naming the file and what was expected ----------------------------------------------
def test_errors_name_file_and_expectation(tmp_path: Path) -> None:
    fhdr = case("fhdr") / "latest.ckpt"
    agcm = hdrtv_files("agcm")[0]
    junk = tmp_path / "notes.pth"
    junk.write_text("not weights")
    cases = [
        (lambda: load("fhdr", junk), "is not a checkpoint (expected an hdrbench .safetensors"),
        (lambda: load("hdrunet", fhdr), "holds official weights of method 'fhdr', not 'hdrunet'"),
        (lambda: load("fhdr", fhdr, nf=32), "expects (32, 3, 3, 3); were the options"),
        (lambda: load("hdrtv", [agcm, agcm]), "again (given by an earlier checkpoint file too)"),
        (lambda: load("hdrtv", [agcm]), "tensors of le, hg"),
        (lambda: load("fhdr", tmp_path / "missing.ckpt"), "checkpoint not found"),
    ]
    for call, expected in cases:
        with pytest.raises(HDRBenchError) as err:
            call()
        msg = str(err.value)
        assert expected in msg and "\n" not in msg, msg
        assert str(tmp_path) in msg or str(fhdr) in msg or str(agcm) in msg, msg


def test_pickled_code_in_npz_is_refused(tmp_path: Path) -> None:
    import os

    class Payload:
        def __reduce__(self):
            return (os.system, ("echo should-not-run",))

    arr = np.empty(1, dtype=object)
    arr[0] = Payload()
    np.savez(tmp_path / "evil.npz", params=arr)
    with pytest.raises(HDRBenchError, match="refused"):
        load("hdrcnn", tmp_path / "evil.npz")


def test_torch_file_is_read_weights_only(tmp_path: Path) -> None:
    class Payload:
        def __reduce__(self):
            return (print, ("should-not-run",))

    torch.save({"x": Payload()}, tmp_path / "evil.pth")
    with pytest.raises(HDRBenchError, match="weights-only"):
        load("fhdr", tmp_path / "evil.pth")


# -- HDRCNN: the official TensorFlow/TensorLayer parameter file ------------------------------------------------
def _tf_layout(t: torch.Tensor, kind: str) -> np.ndarray:
    """PyTorch → TensorFlow layout, written out independently of the loader: conv OIHW → HWIO; transposed conv
    (in, out, h, w) → (h, w, out, in)."""
    a = t.detach().numpy()
    if kind == "conv":  # (out, in, h, w) → (h, w, in, out)
        return np.ascontiguousarray(a.transpose(2, 3, 1, 0))
    if kind == "deconv":  # (in, out, h, w) → (h, w, out, in)
        return np.ascontiguousarray(a.transpose(2, 3, 1, 0))
    return a


def _official_hdrcnn_parameters(net: torch.nn.Module) -> list[tuple[str, np.ndarray]]:
    """``(TF name, array)`` in ``network.py``'s layer order, from a network's weights (names spelled out here)."""
    sd = net.state_dict()
    out: list[tuple[str, np.ndarray]] = []
    convs = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28]
    names = [f"h{b}/conv_{j}" for b, n in ((1, 2), (2, 2), (3, 3), (4, 3), (5, 3)) for j in range(1, n + 1)]
    for name, i in zip(names, convs):
        out += [(f"encoder/{name}/W_conv2d", _tf_layout(sd[f"encoder.{i}.weight"], "conv")),
                (f"encoder/{name}/b_conv2d", sd[f"encoder.{i}.bias"].numpy())]

    def bn(tf: str, ours: str) -> None:
        out.extend([(f"{tf}/beta", sd[f"{ours}.bias"].numpy()), (f"{tf}/gamma", sd[f"{ours}.weight"].numpy()),
                    (f"{tf}/moving_mean", sd[f"{ours}.running_mean"].numpy()),
                    (f"{tf}/moving_variance", sd[f"{ours}.running_var"].numpy())])

    out += [("encoder/h6/conv/W_conv2d", _tf_layout(sd["bottleneck.0.weight"], "conv")),
            ("encoder/h6/conv/b_conv2d", sd["bottleneck.0.bias"].numpy())]
    bn("encoder/h6/batch_norm", "bottleneck.1")
    for h in range(1, 6):
        if h > 1:
            fuse = f"fuse.{h - 2}.fuse"
            out += [(f"decoder/h{h}/fuse_skip_connection/W_conv2d", _tf_layout(sd[f"{fuse}.weight"], "conv")),
                    (f"decoder/h{h}/fuse_skip_connection/b_conv2d", sd[f"{fuse}.bias"].numpy())]
        out += [(f"decoder/h{h}/decon2d/W_deconv2d", _tf_layout(sd[f"up.{h - 1}.deconv.weight"], "deconv")),
                (f"decoder/h{h}/decon2d/b_deconv2d", sd[f"up.{h - 1}.deconv.bias"].numpy())]
        bn(f"decoder/h{h}/decon2d/batch_norm_dc", f"up.{h - 1}.bn")
    out += [("decoder/h6/fuse_skip_connection/W_conv2d", _tf_layout(sd["fuse.4.fuse.weight"], "conv")),
            ("decoder/h6/fuse_skip_connection/b_conv2d", sd["fuse.4.fuse.bias"].numpy()),
            ("decoder/h7/conv2d/W_conv2d", _tf_layout(sd["head.0.weight"], "conv")),
            ("decoder/h7/conv2d/b_conv2d", sd["head.0.bias"].numpy())]
    bn("decoder/h7/batch_norm", "head.1")
    out += [("decoder/h7/fuse_skip_connection/W_conv2d", _tf_layout(sd["fuse_input.fuse.weight"], "conv")),
            ("decoder/h7/fuse_skip_connection/b_conv2d", sd["fuse_input.fuse.bias"].numpy())]
    return out


@pytest.fixture(scope="module")
def hdrcnn_source() -> torch.nn.Module:
    from baselines.hdrcnn import HDRCNNNet

    torch.manual_seed(3)
    net = HDRCNNNet(pretrained=False, skip_feature_scale=1.0, encoder_input="caffe")
    with torch.no_grad():  # exercise every parameter, BN statistics included, at a sane scale
        for name, p in net.state_dict().items():
            if name.endswith("running_var"):
                p.uniform_(0.5, 2.0)
            elif p.is_floating_point():
                p.add_(0.01 * torch.randn_like(p))
    return net.eval()


@pytest.mark.parametrize("layout", ["tensorlayer_list", "named"])
def test_hdrcnn_official_npz(tmp_path: Path, hdrcnn_source: torch.nn.Module, layout: str) -> None:
    params = _official_hdrcnn_parameters(hdrcnn_source)
    assert len(params) == 80
    path = tmp_path / "hdrcnn_params.npz"
    if layout == "tensorlayer_list":  # tl.files.save_npz: np.savez(name, params=<list of arrays>)
        arr = np.empty(len(params), dtype=object)
        for i, (_, a) in enumerate(params):
            arr[i] = a
        np.savez(path, params=arr)
    else:
        np.savez(path, **{f"{name}:0": a for name, a in params})
    method, net = load("hdrcnn", path)
    assert method.options["encoder_input"] == "caffe" and not method.options["pretrained"]
    x = torch.rand(1, 3, 64, 96)
    x[..., 10:20, 30:50] = 1.0  # a saturated region (HDRCNN's blend uses the network there)
    with torch.no_grad():
        assert rel(net(x), hdrcnn_source(x).numpy()) < TOL
        assert rel(method.forward(net, x), method.forward(hdrcnn_source, x).numpy()) < TOL


def test_hdrcnn_official_input_convention(tmp_path: Path, hdrcnn_source: torch.nn.Module) -> None:
    """conv1_1 of the loaded network sees what the official encoder sees: 255·x, RGB → BGR, minus the VGG means
    (103.939, 116.779, 123.68), 'SAME' zero padding; computed here in NumPy from the TF-layout kernel."""
    params = dict(_official_hdrcnn_parameters(hdrcnn_source))
    np.savez(tmp_path / "p.npz", **params)
    _, net = load("hdrcnn", tmp_path / "p.npz")
    x = torch.rand(1, 3, 32, 32)
    seen = {}
    net.encoder[1].register_forward_hook(lambda m, i, o: seen.setdefault("relu1_1", o))
    with torch.no_grad():
        net(x)
    rgb = x[0].permute(1, 2, 0).double().numpy()
    bgr = 255.0 * rgb[..., ::-1] - np.array([103.939, 116.779, 123.68])
    pad = np.pad(bgr, ((1, 1), (1, 1), (0, 0)))
    w, b = params["encoder/h1/conv_1/W_conv2d"], params["encoder/h1/conv_1/b_conv2d"]
    ref = sum(np.einsum("hwc,co->hwo", pad[dy:dy + 32, dx:dx + 32], w[dy, dx]) for dy in range(3) for dx in range(3))
    ref = np.maximum(ref + b, 0).transpose(2, 0, 1)[None]
    assert rel(seen["relu1_1"], ref) < TOL


def test_config_accepts_a_list_of_checkpoints(tmp_path: Path) -> None:
    from hdrbench.config import load_config

    toml = tmp_path / "bench.toml"
    toml.write_text('[benchmark]\nname = "x"\n[dataset]\nname = "demo"\n'
                    '[[methods]]\nname = "hdrtv"\ncheckpoint = ["a.pth", "b.pth", "c.pth"]\n')
    entry = load_config(toml).methods[0]
    assert entry.checkpoint == [str(tmp_path / n) for n in ("a.pth", "b.pth", "c.pth")]


def test_evaluate_source_uses_official_checkpoint() -> None:
    """The evaluation runner's prediction source goes through the same loader and predict_image."""
    from hdrbench.config import EvaluateSection, MethodEntry, TrainSection
    from hdrbench.evaluate.runner import open_source
    from hdrbench.plan import Entry

    folder = case("fhdr")
    config = MethodEntry(name="fhdr", checkpoint=str(folder / "latest.ckpt"), options={"iterations": 1})
    entry = Entry(config, "checkpoint", (folder / "latest.ckpt",))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        # what the source reads of a plan: its settings and its dataset
        plan = SimpleNamespace(cfg=SimpleNamespace(evaluate=EvaluateSection(), train=TrainSection()), dataset=None)
        source = open_source(plan, entry, torch.device("cpu"))  # type: ignore[arg-type]
    assert source.params == 571_267 and len(source.checkpoint) == 16  # the weights' digest is recorded
    pred = source.predict("test", None, ldr_of(folder).astype(np.float32) / 255.0)
    official = np.load(folder / "output.npy")[0].transpose(1, 2, 0)
    assert rel(pred, (official + 1) / 2) < TOL
