"""Numpy cores of the classical expansion operators, read from HDR Toolbox (Banterle, GPL v3) at commit
5375d056fb7eee3beebe5c1fe0b199fbadfcc049 (``source_code/EO/*.m`` and the helpers they call, named per function).

Every operator takes ``ldr`` ``(H, W, 3)`` float64 display-referred in ``[0, 1]`` and a camera ``response`` (its
inverse linearises the LDR: the toolbox's ``img.^gammaRemoval`` for the default ``gamma`` 2.2 response) and returns
``(H, W, 3)`` float64 linear RGB in the toolbox's output units (cd/m² on the toolbox's scale, peak near
``max_output``). Pixels the toolbox's ``RemoveSpecials`` zeroes (NaN, ±inf: black pixels divided by a zero
luminance) are 0 here too. Defaults are the toolbox's: the in-code default of a function where it has one, else
the value its demo ``demos/demo_expansion_operators.m`` passes (named per parameter below).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.interpolate import RegularGridInterpolator
from scipy.ndimage import convolve

from hdrbench.datasets.camera import CameraResponse
from hdrbench.errors import HDRBenchError, HDRBenchWarning

#: The toolbox's ``gammaRemoval`` of its demo (``gammaRemoval = 2.2``): ``img.^2.2``.
TOOLBOX_GAMMA = CameraResponse("gamma", 2.2)
#: ``demos/demo_expansion_operators.m`` passes ``maxOutput`` 5000 cd/m² to every operator that takes one.
MAX_OUTPUT = 5000.0
#: Rec. 709 luminance weights of ``source_code/ColorSpace/lum.m``.
LUM_WEIGHTS = (0.2126, 0.7152, 0.0722)


def matlab_round(x: np.ndarray) -> np.ndarray:
    """MATLAB's ``round`` (halves away from zero; numpy's ``round`` takes halves to even)."""
    x = np.asarray(x, dtype=np.float64)
    r = np.floor(np.abs(x))
    return np.copysign(r + (np.abs(x) - r >= 0.5), x)


def lum(img: np.ndarray) -> np.ndarray:
    """``lum.m``: ``(H, W, 3)`` → ``(H, W)`` Rec. 709 luminance."""
    r, g, b = LUM_WEIGHTS
    return r * img[..., 0] + g * img[..., 1] + b * img[..., 2]


def remove_specials(x: np.ndarray) -> np.ndarray:
    """``util/RemoveSpecials.m``: NaN and ±inf become 0."""
    return np.where(np.isfinite(x), x, 0.0)


def change_luminance(img: np.ndarray, l_old: np.ndarray, l_new: np.ndarray) -> np.ndarray:
    """``Tmo/util/ChangeLuminance.m`` (``bEpsilon`` 0): each channel ``img · L_new / L_old``, specials zeroed."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return remove_specials((img * l_new[..., None]) / l_old[..., None])


def log_mean(lum_: np.ndarray, delta: float = 1e-6) -> float:
    """``Tmo/util/logMean.m``: ``exp(mean(log(L + delta)))``."""
    return float(np.exp(np.mean(np.log(lum_ + delta))))


def max_quart(values: np.ndarray, percentile: float) -> float:
    """``Analysis/MaxQuart.m``: the sorted values' element ``max(round(n · p), 1)`` (1-based)."""
    v = np.sort(values.ravel())
    index = max(int(matlab_round(v.size * min(max(percentile, 0.0), 1.0))), 1)
    return float(v[index - 1])


def image_key(lum_: np.ndarray, robust: float = 0.01) -> tuple[float, float]:
    """``Analysis/imKey.m`` on a luminance: ``(key, log-mean)``, key = position of log(log-mean) between the
    logs of the ``robust`` and ``1 - robust`` quantiles of the positive luminances (-1 when undefined)."""
    lav = log_mean(lum_)
    positive = lum_[lum_ > 0.0]
    lo, hi = (max_quart(positive, robust), max_quart(positive, 1 - robust)) if positive.size else (1.0, 1.0)
    with np.errstate(divide="ignore"):
        log_lo, log_hi = np.log(lo), np.log(hi)
    delta = log_hi - log_lo
    if delta > 0.0 and np.isfinite(log_lo) and np.isfinite(log_hi):
        return float((np.log(lav) - log_lo) / delta), lav
    return -1.0, lav


def bilateral_grid(data: np.ndarray, edge: np.ndarray | None, edge_min: float, edge_max: float, sigma_s: float,
                   sigma_r: float) -> np.ndarray:
    """``util/bilateralFilter.m`` (J. Chen's bilateral grid, Paris & Durand 2006) with its default sampling
    (``samplingSpatial = sigma_s``, ``samplingRange = sigma_r``, the only case the EOs use): ``data`` ``(H, W)``
    splatted into a grid of cells ``sigma_s`` px × ``sigma_r`` edge units (nearest cell, MATLAB rounding, 3
    cells of padding), blurred by the 3×3×3 kernel ``exp(-r²/2)`` (zero outside), normalised by the blurred
    counts and read back trilinearly at each pixel's (row, column, edge) position. ``edge``: ``None`` = ``data``."""
    edge = data if edge is None else edge
    if data.ndim != 2 or edge.shape != data.shape:
        raise HDRBenchError(f"bilateral grid: data {data.shape} and edge {edge.shape} must be one (H, W) size")
    h, w = data.shape
    pad = 3  # floor(2 · derived sigma) + 1 with derived sigma = sigma / sampling = 1 (spatial and range)
    ii, jj = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")
    zz = (edge - edge_min) / sigma_r
    cells = (matlab_round(ii / sigma_s) + pad, matlab_round(jj / sigma_s) + pad, matlab_round(zz) + pad)
    shape = (int(np.floor((h - 1) / sigma_s)) + 1 + 2 * pad, int(np.floor((w - 1) / sigma_s)) + 1 + 2 * pad,
             int(np.floor((edge_max - edge_min) / sigma_r)) + 1 + 2 * pad)
    shape = tuple(max(n, int(c.max()) + 1) for n, c in zip(shape, cells))  # MATLAB grows an array written past it
    keep = ~np.isnan(data)
    flat = np.ravel_multi_index(tuple(c[keep].astype(np.int64) for c in cells), shape)
    size = int(np.prod(shape))
    grid_data = np.bincount(flat, weights=data[keep], minlength=size).reshape(shape)
    grid_weights = np.bincount(flat, minlength=size).astype(np.float64).reshape(shape)
    offsets = np.arange(-1.0, 2.0)
    gx, gy, gz = np.meshgrid(offsets, offsets, offsets, indexing="ij")
    kernel = np.exp(-0.5 * (gx**2 + gy**2 + gz**2))
    blurred_data = convolve(grid_data, kernel, mode="constant", cval=0.0)
    blurred_weights = convolve(grid_weights, kernel, mode="constant", cval=0.0)
    blurred_weights[blurred_weights == 0] = -2.0
    normalised = blurred_data / blurred_weights
    normalised[blurred_weights < -1] = 0.0
    axes = tuple(np.arange(n, dtype=np.float64) for n in shape)
    read = RegularGridInterpolator(axes, normalised, method="linear", bounds_error=False, fill_value=np.nan)
    return read(np.stack([ii / sigma_s + pad, jj / sigma_s + pad, zz + pad], axis=-1))


def exact_codes(ldr: np.ndarray, levels: int = 255) -> np.ndarray:
    """Values within 10⁻³ of a code ``k / levels`` set to exactly that code (float64), others kept: a float32
    8-bit LDR (the harness's) becomes the ``double(img) / 255`` the toolbox sees, so its comparisons at a code
    (Kovaleski-Oliveira's ``> 254/255``, Landis's threshold) fall as the toolbox's do."""
    codes = np.round(ldr * levels)
    return np.where(np.abs(ldr * levels - codes) < 1e-3, codes / levels, ldr)


def _linear(ldr: np.ndarray, response: CameraResponse) -> np.ndarray:
    """The LDR checked (``(H, W, 3)`` in [0, 1]) and linearised: ``response.inverse`` (the toolbox's
    ``img.^gammaRemoval`` for the gamma response)."""
    ldr = np.asarray(ldr, dtype=np.float64)
    if ldr.ndim != 3 or ldr.shape[-1] != 3:
        raise HDRBenchError(f"expansion operator: expected an (H, W, 3) RGB image, got shape {ldr.shape}")
    if ldr.size and (ldr.min() < 0.0 or ldr.max() > 1.0):
        raise HDRBenchError(f"expansion operator: the LDR must lie in [0, 1] (got [{ldr.min():g}, {ldr.max():g}]); "
                            "pass display-referred values divided by 255")
    return response.inverse(ldr)


def akyuz(ldr: np.ndarray, *, max_output: float = MAX_OUTPUT, a_gamma: float = 1.0,
          response: CameraResponse = TOOLBOX_GAMMA) -> np.ndarray:
    """``EO/AkyuzEO.m``: luminance stretched to ``[0, max_output]`` as ``max_output · ((L − Lmin)/(Lmax − Lmin))^γ``.
    ``a_gamma`` 1.0: the demo's value (the header: "for well-exposed content this value can be set to 1.0")."""
    img = _linear(ldr, response)
    lum_ = lum(img)
    with np.errstate(divide="ignore", invalid="ignore"):
        l_exp = max_output * ((lum_ - lum_.min()) / (lum_.max() - lum_.min())) ** a_gamma
    return change_luminance(img, lum_, l_exp)


def landis(ldr: np.ndarray, *, alpha: float = 2.0, threshold: float = 0.5, max_output: float = MAX_OUTPUT,
           response: CameraResponse = TOOLBOX_GAMMA) -> np.ndarray:
    """``EO/LandisEO.m``: pixels with ``L >= threshold`` blended towards ``max_output · L`` with weight
    ``((L − t)/(Lmax − t))^alpha``; the others keep ``L`` (so they stay in [0, 1] in the output's units, as in the
    toolbox). ``alpha`` 2.0, ``threshold`` 0.5: the function's in-code defaults (its demo passes 2.2 and 0.5)."""
    img = _linear(ldr, response)
    lum_ = lum(img)
    expand = lum_ >= threshold
    with np.errstate(divide="ignore", invalid="ignore"):
        weights = ((lum_ - threshold) / (lum_.max() - threshold)) ** alpha
        l_exp = np.where(expand, lum_ * (1 - weights) + max_output * lum_ * weights, lum_)
    return change_luminance(img, lum_, l_exp)


def masia_gamma(lum_: np.ndarray, multi_regression: bool = False) -> float:
    """The exponent of ``EO/MasiaEO.m``: ``10.44 · key − 6.282`` (SIGGRAPH Asia 2009), or with
    ``multi_regression`` eq. 5 of the 2017 paper: ``2.4379 + 0.2319 log(Lav) − 1.1228 key + 0.0085 p_ov``
    (``p_ov``: percentage of pixels with ``255 L >= 254``)."""
    key, lav = image_key(lum_)
    if not multi_regression:
        return key * 10.44 + -6.282
    p_ov = np.count_nonzero(lum_ * 255 >= 254) / lum_.size * 100.0
    return float(2.4379 + 0.2319 * np.log(lav) - 1.1228 * key + 0.0085 * p_ov)


def masia(ldr: np.ndarray, *, max_output: float = MAX_OUTPUT, noise: bool = True, multi_regression: bool = False,
          response: CameraResponse = TOOLBOX_GAMMA) -> np.ndarray:
    """``EO/MasiaEO.m``: ``max_output · L^γ`` with γ from the image's key (:func:`masia_gamma`); with ``noise``
    the exponent acts on a bilateral base (grid σ_s 32 px, σ_r 0.01) and the detail ``L / base`` is kept.
    ``noise`` true and ``multi_regression`` false: the function's in-code defaults (``m_noise`` 1,
    ``m_multi_reg`` 0; its demo passes 1 and 1). Warns, as the toolbox, when γ <= 0."""
    img = _linear(ldr, response)
    lum_ = lum(img)
    gamma = masia_gamma(lum_, multi_regression)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if noise:
            base = bilateral_grid(lum_, None, 0.0, 1.0, 32.0, 0.01)
            l_exp = remove_specials(lum_ / base) * base**gamma
        else:
            l_exp = lum_**gamma
    if gamma <= 0.0:
        warnings.warn(f"hdrbench: masia: exponent γ = {gamma:.4g} <= 0 for this image (a dark key): its luminance "
                      "is inverted and may look false-coloured, as HDR Toolbox warns; option multi_regression=true "
                      "(the 2017 regression) avoids it", HDRBenchWarning, stacklevel=2)
    return change_luminance(img, lum_, l_exp * max_output)


def huo(ldr: np.ndarray, *, max_output: float = MAX_OUTPUT, n: float = 0.86,
        response: CameraResponse = TOOLBOX_GAMMA) -> np.ndarray:
    """``EO/HuoPhysEO.m`` (retina response): ``(L / Lmax) · (L_sh^n + σ^n)^(1/n)`` with ``σ = max_output ·
    logMean(L)`` and ``L_sh = max_output ·`` two bilateral-grid passes (σ_s 16 px, σ_r 0.3, then 10 px, 0.1).
    ``n`` 0.86: the in-code default ("as in the original paper"); ``max_output`` 5000: the demo's."""
    img = _linear(ldr, response)
    lum_ = lum(img)
    sigma = max_output * log_mean(lum_)
    local = max_output * bilateral_grid(bilateral_grid(lum_, None, 0.0, 1.0, 16.0, 0.3), None, 0.0, 1.0, 10.0, 0.1)
    with np.errstate(divide="ignore", invalid="ignore"):
        l_exp = (lum_ / lum_.max()) * (local**n + sigma**n) ** (1.0 / n)
    return change_luminance(img, lum_, l_exp)


#: ``KovaleskiOliveiraEO.m``'s saturation thresholds by ``type_content`` (anything else: 230/255).
KO_THRESHOLDS = {"image": 254 / 255, "video": 230 / 255}


def kovaleski_oliveira(ldr: np.ndarray, *, content: str = "image", sigma_s: float = 150.0,
                       sigma_r: float = 25 / 255, display_min: float = 0.3, display_max: float = 1200.0,
                       response: CameraResponse = TOOLBOX_GAMMA) -> np.ndarray:
    """``EO/KovaleskiOliveiraEO.m``: ``(L (d_max − d_min) + d_min) · (3 E + 1)/4`` with ``E`` the bilateral-grid
    filter (σ_s, σ_r linearised, edge ``L``) of the mask ``max_c > threshold`` (threshold linearised: 254/255
    for ``content`` "image", 230/255 for "video"). ``sigma_s`` 150 and ``sigma_r`` 25/255: in-code defaults
    ("as in the original paper"); ``display_min`` 0.3, ``display_max`` 1200 cd/m²: the header's stated defaults
    (its demo passes 0.1 and 5000)."""
    if content not in KO_THRESHOLDS:
        raise HDRBenchError(f"kovaleski-oliveira: content={content!r} must be 'image' or 'video'")
    img = _linear(ldr, response)
    threshold, sigma_r = float(response.inverse(KO_THRESHOLDS[content])), float(response.inverse(sigma_r))
    lum_ = lum(img)
    mask = (img.max(axis=-1) > threshold).astype(np.float64)
    e_map = (bilateral_grid(mask, lum_, 0.0, 1.0, sigma_s, sigma_r) * 3.0 + 1) / 4
    l_exp = (lum_ * (display_max - display_min) + display_min) * e_map
    return change_luminance(img, lum_, l_exp)


OPERATORS = {"akyuz": akyuz, "landis": landis, "masia": masia, "huo": huo, "kovaleski-oliveira": kovaleski_oliveira}
