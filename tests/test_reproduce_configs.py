"""docs/reproduce/*.toml, the benchmarks that score published test sets and predictions, each run on a small
synthetic tree in its dataset's layout (the real data is not redistributable): every file parses, plans, evaluates
and reports; the released-weights entries load (FHDR's official checkpoint format; random hdrbench weights stand
in for HDRUNet's and KUNet's, whose official files are not in the repository)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import cv2
import numpy as np
import pytest

from hdrbench import io

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / "docs" / "reproduce").glob("*.toml"))
FHDR_OFFICIAL = Path(__file__).parent / "data" / "official" / "fhdr" / "latest.ckpt"


def _pair(rng: np.random.Generator, size: int = 48) -> tuple[np.ndarray, np.ndarray]:
    hdr = (rng.random((size, size, 3)) ** 2 * 4).astype(np.float32)
    ldr = np.clip(hdr, 0, 1) ** (1 / 2.2)
    return ldr, hdr


def _folder(root: Path, rng: np.random.Generator, stems: list[str], preds: list[Path]) -> None:
    for s in stems:
        ldr, hdr = _pair(rng)
        io.write_ldr(root / "ldr" / f"{s}.png", ldr)
        io.write_exr(root / "hdr" / f"{s}.exr", hdr)
        for p in preds:
            io.write_exr(p / f"{s}.exr", hdr * 0.8)


def build_tree(data: Path, name: str, rng: np.random.Generator) -> dict[str, str]:
    """The synthetic tree for ``name`` under ``data`` (the configs' /data); returns path substitutions."""
    subs = {}
    if name == "sihdr":
        methods = ["hdrcnn", "expandnet", "singlehdr", "maskhdr", "hdrgan", "drtmo"]
        for i in range(3):
            ldr, hdr = _pair(rng)
            io.write_exr(data / "sihdr" / "reference" / "sihdr" / "reference" / f"{i:03d}.exr", hdr)
            for clip in ("clip_95", "clip_50"):
                io.write_ldr(data / "sihdr" / "input" / clip / f"{i:03d}.png", ldr)
                for m in methods:
                    io.write_exr(data / "sihdr" / "reconstructions" / m / clip / f"{i:03d}.exr", hdr * 0.9)
    elif name == "singlehdr-hdreye":
        _folder(data / "HDR-Eye", rng, ["C01", "C02"], [data / "singlehdr-hdreye"])
    elif name == "hdrcnn":
        _folder(data / "hdrcnn-test", rng, ["img_000", "img_001"], [data / "hdrcnn-reconstructions"])
    elif name == "fhdr-cityscene":
        _folder(data / "city-scene", rng, ["city_000", "city_001"], [])
        subs["/data/FHDR-iter-1.ckpt"] = str(FHDR_OFFICIAL)
    elif name == "ntire2021-val":
        from hdrbench.checkpoint import save_weights
        from hdrbench.method import create_method

        (data / "ntire2021-val").mkdir(parents=True)
        for i in (12, 34):  # the challenge's storage: 16-bit gamma-2.24 PNG (BGR on disk) and its align ratio
            ldr, hdr = _pair(rng)
            enc = (hdr / hdr.max()) ** (1 / 2.24)
            ratio = 65535.0 / float(enc.max())
            png16 = np.round(enc * ratio).astype(np.uint16)[..., ::-1]
            cv2.imwrite(str(data / "ntire2021-val" / f"{i:04d}_gt.png"), png16)
            io.write_ldr(data / "ntire2021-val" / f"{i:04d}_medium.png", ldr)
            np.save(data / "ntire2021-val" / f"{i:04d}_alignratio.npy", np.float32(ratio))
        for m, path in (("hdrunet", "/data/HDRUNet/pretrained_model.pth"), ("kunet", "/data/KUNet/latest_G.pth")):
            w = data / f"{m}.safetensors"
            save_weights(create_method(m).build_network(), w, method=m)
            subs[path] = str(w)
    else:
        raise AssertionError(f"no synthetic tree for docs/reproduce/{name}.toml: add one here")
    return subs


def test_every_reproduce_config_is_tested():
    assert {c.stem for c in CONFIGS} == {"sihdr", "singlehdr-hdreye", "hdrcnn", "fhdr-cityscene", "ntire2021-val"}


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.stem)
def test_reproduce_config_scores_a_tree_in_its_layout(config, tmp_path, run_main):
    if config.stem == "fhdr-cityscene" and not FHDR_OFFICIAL.is_file():
        pytest.skip("tests/data/official/fhdr/latest.ckpt is missing")
    rng = np.random.default_rng(0)
    data = tmp_path / "data"
    subs = build_tree(data, config.stem, rng)
    text = config.read_text()
    for old, new in subs.items():
        text = text.replace(old, new)
    text = text.replace('"/data/', f'"{data}/').replace('output = "results/', f'output = "{tmp_path}/')
    tomllib.loads(text)  # still TOML
    bench = tmp_path / config.name
    bench.write_text(text)
    code, out, err = run_main("evaluate", bench)
    assert code == 0, err
    code, out, err = run_main("report", bench, "--quiet")
    assert code == 0, err
    table = (tmp_path / f"reproduce-{config.stem}" / "table1.md").read_text()
    protocol = tomllib.loads(text)["evaluate"]["protocol"]
    assert f"{protocol} protocol" in table  # the caption names the protocol the published numbers used
