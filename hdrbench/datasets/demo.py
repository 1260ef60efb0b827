"""The embedded ``demo`` dataset: camera views of 26 real CC0 HDR panoramas, photographed by the virtual camera.

Sources: ``hdrbench/datasets/demo_data/`` (8 Blender studio-light worlds, 1024×512 float; 18 Poly Haven
HDRIs from ``@pmndrs/assets``, 512×256 half; see PROVENANCE.md there). Every panorama is one *scene*; the
split is by scene and fixed (:data:`TEST_SCENES`, 8 scenes with suns, lamps, windows or skylights; the
other 18 train). Scenes that are probably the same place in both sources are kept in one split
(``sunrise``; ``night``; Blender ``sunset`` with Poly Haven ``venice``).

Images: rectilinear camera views (``fov`` degrees, ``size``×``size`` pixels, rendered at 2× and
area-downsampled). Test: ``test_views`` per scene, the first aimed at the scene's brightest region
(pitch limited to [-10°, 30°]), the others turned by 360°/n. Train: ``train_views`` per scene the same way.
The LDR is the virtual camera's photograph (exposure so ``clip_fraction`` = 5 % of the pixels clip,
gamma 2.2, 8 bits): suns, lamps and bright skies are lost in it.

Ground truth: a 16-bit linear sensor with ``hdr_headroom`` = 64 (6 stops) above the LDR's clipping point:
``hdr = clip(s * radiance / 64, 0, 1)`` stored as 16-bit PNG and read back as ``[0, 1]``, the same
convention as Cityscapes (16-bit linear / 65535) and the ``dcdr`` metrics protocol. The LDR saturates at
1/64 of the HDR range; only the cores of suns exceed the sensor (``hdr_clipped_fraction`` in the manifest).

Source clean-up (lossy DWAB EXRs hold ringing and colour artefacts around suns): NaN and negative pixels are
replaced by the 5×5 median of their neighbourhood; very bright pixels with an implausible colour (one channel
below 10 % of the maximum) are made neutral.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from hdrbench.datasets.synth import CAMERA_OPTIONS, Scene, SynthesizedPairs
from hdrbench.errors import HDRBenchError
from hdrbench.io import opencv, read_hdr

cv2 = opencv()  # OpenCV with its OpenEXR codec enabled

DATA_DIR = Path(__file__).with_name("demo_data")
#: The fixed test scenes (``{source}_{name}``); every other panorama trains.
TEST_SCENES = ("blender_city", "blender_courtyard", "blender_interior", "blender_studio",
               "polyhaven_hall", "polyhaven_lobby", "polyhaven_park", "polyhaven_sky")


def scene_files() -> dict[str, Path]:
    """``{scene id: EXR path}`` of the embedded panoramas."""
    files = {f"{p.parent.name}_{p.stem}": p for p in sorted(DATA_DIR.glob("*/*.exr"))}
    if len(files) != 26:
        raise HDRBenchError(f"expected the 26 embedded demo panoramas, found {len(files)} (incomplete install?)",
                            DATA_DIR)
    return files


def clean_panorama(pano: np.ndarray) -> np.ndarray:
    """Repair lossy-EXR artefacts (see the module docstring); ``(H, W, 3)`` float32 linear, >= 0."""
    pano = np.nan_to_num(np.asarray(pano, dtype=np.float32), nan=-1.0, posinf=-1.0, neginf=-1.0)
    bad = (pano < 0).any(axis=-1)
    median = cv2.medianBlur(np.maximum(pano, 0.0), 5)
    pano = np.where(bad[..., None], median, np.maximum(pano, 0.0))
    peak = pano.max(axis=-1)
    hot = (peak > np.percentile(peak, 99.9)) & (pano.min(axis=-1) < 0.1 * peak)
    pano[hot] = pano[hot].mean(axis=-1, keepdims=True)
    return pano


@lru_cache(maxsize=4)
def load_panorama(path: str) -> np.ndarray:
    return clean_panorama(read_hdr(path))


def perspective_view(pano: np.ndarray, yaw: float, pitch: float, fov: float, size: int) -> np.ndarray:
    """A ``size``×``size`` rectilinear view (``fov`` degrees) of an equirectangular panorama.

    ``yaw`` (degrees, 0 = the panorama's centre column, positive to the right) and ``pitch`` (degrees, up)
    give the view direction. Rendered at 2× and area-downsampled; returns float32 linear ``(size, size, 3)``.
    """
    n = 2 * size
    f = (n / 2) / np.tan(np.radians(fov) / 2)
    c = np.arange(n, dtype=np.float64) + 0.5 - n / 2
    x, y = np.meshgrid(c, -c)
    z = np.full_like(x, f)
    p, t = np.radians(pitch), np.radians(yaw)
    y, z = y * np.cos(p) + z * np.sin(p), -y * np.sin(p) + z * np.cos(p)  # tilt up by pitch
    x, z = x * np.cos(t) + z * np.sin(t), -x * np.sin(t) + z * np.cos(t)  # turn right by yaw
    lon = np.arctan2(x, z)
    lat = np.arcsin(y / np.sqrt(x * x + y * y + z * z))
    h, w = pano.shape[:2]
    u = ((lon / (2 * np.pi) + 0.5) * w - 0.5).astype(np.float32)
    v = ((0.5 - lat / np.pi) * h - 0.5).astype(np.float32)
    big = cv2.remap(pano, u, v, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
    return np.maximum(cv2.resize(big, (size, size), interpolation=cv2.INTER_AREA), 0.0)


def brightest_direction(pano: np.ndarray) -> tuple[float, float]:
    """``(yaw, pitch)`` in degrees of the brightest blurred region, pitch limited to [-10, 30]."""
    h, w = pano.shape[:2]
    lum = cv2.GaussianBlur(pano.mean(axis=-1), (0, 0), sigmaX=w / 128)
    lat = 90.0 - (np.arange(h) + 0.5) * 180.0 / h
    lum[np.abs(lat) > 60] = 0  # ignore the poles
    r, col = np.unravel_index(int(np.argmax(lum)), lum.shape)
    return float((col + 0.5) / w * 360.0 - 180.0), float(np.clip(lat[r], -10.0, 30.0))


class Demo(SynthesizedPairs):
    """The embedded real-HDR demo set (see the module docstring). Needs no root folder."""

    summary = "26 real CC0 HDR panoramas: camera views, virtual-camera LDRs (5 % clipped), 8 test scenes"
    citation = "Poly Haven HDRIs (CC0), via @pmndrs/assets 1.7.0 and Blender's studiolights (Greg Zaal)"
    hdr_convention = "16-bit linear PNG / 65535 -> [0, 1]; the LDR saturates at 1/hdr_headroom (1/64)"
    default_options = {**CAMERA_OPTIONS, "clip_fraction": 0.05, "hdr_headroom": 64.0, "size": 256, "fov": 90.0,
                       "train_views": 4, "test_views": 1}
    train_split = "train"
    test_sets = ("test",)

    def scenes(self, split: str) -> list[Scene]:
        files = scene_files()
        if split == "train":
            names, views = [s for s in files if s not in TEST_SCENES], int(self.options["train_views"])
        elif split == "test":
            names, views = list(TEST_SCENES), int(self.options["test_views"])
        else:
            raise HDRBenchError(f"demo dataset has splits 'train' and 'test', not '{split}'")
        size, fov = int(self.options["size"]), float(self.options["fov"])
        if size < 16 or views < 1 or not 10.0 <= fov <= 150.0:
            raise HDRBenchError(f"demo options need size >= 16, views >= 1, 10 <= fov <= 150 "
                                f"(got {size}, {views}, {fov})")
        out = []
        for name in names:
            path = files[name]
            yaw0, pitch0 = brightest_direction(load_panorama(str(path)))
            for k in range(views):
                yaw = (yaw0 + 360.0 * k / views + 180.0) % 360.0 - 180.0
                pitch = pitch0 if k == 0 else 0.0
                meta = {"scene": name, "source": f"{path.parent.name}/{path.name}", "yaw": round(yaw, 3),
                        "pitch": round(pitch, 3), "fov": fov}
                out.append(Scene(f"{name}_v{k}", _view_loader(str(path), yaw, pitch, fov, size),
                                 f"v1:{meta['source']}:{path.stat().st_size}:{size}", meta))
        return out


def _view_loader(path: str, yaw: float, pitch: float, fov: float, size: int):
    return lambda: perspective_view(load_panorama(path), yaw, pitch, fov, size)
