"""SI-HDR camera-response (CRF) correction (Hanji et al., SIGGRAPH 2022; gfxdisp/pu21 ``crf_correction.m``).

Before scoring, a regularised polynomial mapping prediction → reference is fitted per image by least
squares and applied to the prediction, so that a wrong global tone curve or colour cast is not penalised
and only structural differences (missing or hallucinated detail, artefacts, clipping) remain.

Defaults as the original: degree 3, λ = 0.01 (ridge toward the identity), colour space ``luv``: luminance
fitted in the PQ domain (L_max = 10⁴ cd/m², values clamped at L_min = 0.005) without regularisation, the
u′v′ chromaticities fitted linearly with regularisation, cross-channel products included. Inputs are
**absolute** linear RGB (cd/m²) ``(N, 3, H, W)``; :func:`crf_correct` returns the corrected prediction in
the same units (float64).
"""

from __future__ import annotations

import torch

from hdrbench.errors import HDRBenchError

L_MIN, L_MAX = 0.005, 1e4
MEDIAN_ANCHOR = 500.0  # cd/m², the ``normalize`` option's target median
# PQ constants exactly as written in crf_correction.m (rounded to 4 decimals there).
_PQ_M, _PQ_N, _PQ_C1, _PQ_C2, _PQ_C3 = 78.8438, 0.1593, 0.8359, 18.8516, 18.6875
_RGB2XYZ = ((0.412424, 0.357579, 0.180464), (0.212656, 0.715158, 0.072186), (0.019332, 0.119193, 0.950444))
PTFS = ("pq", "log", "linear")
CSPACES = ("luv", "rgb")


def _ptf(x: torch.Tensor, kind: str, forward: bool) -> torch.Tensor:
    """PQ (``L_MAX`` peak) or log10 transfer function, forward (linear → encoded) or inverse; else identity."""
    if kind == "pq":
        if forward:
            lp = (x / L_MAX) ** _PQ_N
            return ((_PQ_C1 + _PQ_C2 * lp) / (1 + _PQ_C3 * lp)) ** _PQ_M
        e = x ** (1 / _PQ_M)
        return L_MAX * ((_PQ_C1 - e) / (_PQ_C3 * e - _PQ_C2)) ** (1 / _PQ_N)
    if kind == "log":
        return torch.log10(x) if forward else 10.0**x
    return x


def _rgb2luv(rgb: torch.Tensor) -> torch.Tensor:
    """``(P, 3)`` linear RGB → (Y, u′·410/255, v′·410/255), XYZ clamped to [1e-4, 1e8] as the original."""
    m = torch.tensor(_RGB2XYZ, dtype=rgb.dtype, device=rgb.device)
    xyz = (rgb @ m.T).clamp(1e-4, 1e8)
    s = xyz.sum(dim=1)
    x, y = xyz[:, 0] / s, xyz[:, 1] / s
    d = -2.0 * x + 12.0 * y + 3.0
    return torch.stack([xyz[:, 1], 4.0 * x / d * 410 / 255.0, 9.0 * y / d * 410 / 255.0], dim=1)


def _luv2rgb(luv: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`_rgb2luv` (with the original's clamps; negative RGB set to 0)."""
    m = torch.tensor(_RGB2XYZ, dtype=luv.dtype, device=luv.device)
    lum, u, v = luv[:, 0], luv[:, 1] * 255.0 / 410.0, luv[:, 2] * 255.0 / 410.0
    d = 6.0 * u - 16.0 * v + 12.0
    x, y = 9.0 * u / d, 4.0 * v / d
    xyz = torch.stack([x / y * lum, lum, (1.0 - x - y) / y * lum], dim=1).clamp(1e-4, 1e8)
    return (xyz @ torch.linalg.inv(m).T).clamp_min(0)


def _design(x: torch.Tensor, deg: int) -> torch.Tensor:
    """Polynomial design matrix of ``(P, Z)`` pixels: [x^deg … x^2, cross products x_i·x_j, x, 1]."""
    z = x.shape[1]
    cross = [x[:, i:i + 1] * x[:, j:j + 1] for i in range(z - 1) for j in range(i + 1, z)]
    powers = [x**d for d in range(deg, 1, -1)]
    return torch.cat([*powers, *cross, x, torch.ones_like(x[:, :1])], dim=1)


def _fit_apply(x: torch.Tensor, y: torch.Tensor, deg: int, lam: float, ptf: str) -> torch.Tensor:
    """Fit the regularised polynomial ``x → y`` (``(P, Z)`` pixels) in the ``ptf`` domain and apply it to ``x``."""
    z = x.shape[1]
    design = _design(_ptf(x, ptf, True), deg)
    target = _ptf(y, ptf, True)
    p = design.shape[1]
    w0 = torch.zeros(p, z, dtype=x.dtype, device=x.device)
    w0[p - 1 - z:p - 1] = torch.eye(z, dtype=x.dtype, device=x.device)  # identity on the linear terms
    sc = lam * design.shape[0] / p
    a = design.T @ design + sc * torch.eye(p, dtype=x.dtype, device=x.device)
    w = torch.linalg.solve(a, design.T @ target + sc * w0)
    out = (design @ w).clamp_min(float(_ptf(torch.tensor(L_MIN, dtype=x.dtype), ptf, True)))
    return _ptf(out, ptf, False)


def crf_correct(pred: torch.Tensor, gt: torch.Tensor, *, deg: int = 3, lam: float = 0.01, ptf: str = "pq",
                cspace: str = "luv", normalize: bool = False) -> torch.Tensor:
    """The prediction ``(N, 3, H, W)`` corrected toward ``gt`` (absolute linear RGB, cd/m²), float64.

    ``normalize``: first anchor each image's median at 500 cd/m² (for data not in absolute units), undone
    on the result with the reference's factor, as in the original.
    """
    if ptf not in PTFS or cspace not in CSPACES:
        raise HDRBenchError(f"CRF correction: ptf must be one of {PTFS} and cspace one of {CSPACES}")
    if deg < 1:
        raise HDRBenchError(f"CRF correction: polynomial degree must be >= 1 (got {deg})")
    out = []
    for r, t in zip(pred.double(), gt.double()):
        shape = r.shape
        r, t = r.flatten(1).T, t.flatten(1).T  # (P, 3) pixels
        scale_gt = t.median() if normalize else None
        if normalize:
            r, t = MEDIAN_ANCHOR * r / r.median().clamp_min(1e-12), MEDIAN_ANCHOR * t / scale_gt.clamp_min(1e-12)
        r, t = r.clamp_min(L_MIN), t.clamp_min(L_MIN)
        if cspace == "rgb":
            c = _fit_apply(r, t, deg, lam, ptf)
        else:
            rl, tl = _rgb2luv(r), _rgb2luv(t)
            lum = _fit_apply(rl[:, :1], tl[:, :1], deg, 0.0, ptf)
            uv = _fit_apply(rl[:, 1:], tl[:, 1:], deg, lam, "linear")
            c = _luv2rgb(torch.cat([lum, uv], dim=1))
        if normalize:
            c = scale_gt * c / MEDIAN_ANCHOR
        out.append(c.T.reshape(shape))
    return torch.stack(out)
