"""matlabPyrTools-exact steerable-pyramid reconstruction (``reconSpyr`` with ``sp3Filters``, ``reflect1`` edges).

matlabPyrTools' ``upConv`` with ``reflect1`` edges is not the adjoint of its ``corrDn``: its edge handler folds
the filter taps that hang over a border back into the image, per axis, in a way that amounts to the following
(derived from the semantics of ``edges.c``/``convolve.c`` and checked against pyrtools on delta images):

* upsample by zero insertion to the output length ``n`` (sample ``i`` at position ``u = i * step``);
* mirror the upsampled signal about its first and its last position (``-u <- u``, ``2(n-1) - u <- u``), but only
  ``k // 2`` samples deep (not the ``2 * (k // 2)`` a full reflect1 adjoint would need), so samples deeper inside
  the image never fold back;
* convolve with the ``k``-tap filter (``valid``), i.e. output ``o`` sums ``f[t] * pad[o + k//2 - t]``.

One quirk: when ``n == k`` the sample at ``u = k // 2`` is handled as a left-edge position only, so its mirror
beyond the right border is missing (the last padded sample is zero). The rule acts separately on each axis, so in
2-D the padded image is the tensor product of the two axes' paddings.
"""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F

from hdrbench.metrics.hdrvdp2.pyramid import sp3_filters


def up_conv_matlab(x: torch.Tensor, weight: torch.Tensor, out_hw: tuple[int, int], step: int = 1,
                   compute_dtype: torch.dtype | None = torch.float32) -> torch.Tensor:
    """matlabPyrTools ``upConv(x, filt, 'reflect1', [step step], [1 1], out_hw)``, summed over ``K`` channels.

    ``x`` ``(N, K, h, w)`` with ``h == ceil(out_h / step)`` (likewise ``w``), ``weight`` ``(K, 1, k, k)`` (odd
    ``k <= out size``); returns ``(N, 1, *out_hw)`` in ``x``'s dtype. The convolution runs in ``compute_dtype``
    (``None``: ``x``'s dtype; float32 by default, like :func:`~hdrbench.metrics.hdrvdp2.pyramid.corr_dn`, as
    torch's float64 CPU convolution is ~8x slower).
    """
    out_dtype = x.dtype
    x = x if compute_dtype is None else x.to(compute_dtype)
    (h, w), k = out_hw, weight.shape[-1]
    p = k // 2
    if k % 2 == 0 or weight.shape[-2] != k:
        raise ValueError(f"square odd-sized filters only, got {tuple(weight.shape[-2:])}")
    if min(h, w) < k:
        raise ValueError(f"output {out_hw} smaller than the {k}x{k} filter")
    if step > 1:
        up = x.new_zeros(*x.shape[:2], h, w)
        up[..., ::step, ::step] = x
    else:
        up = x
    if tuple(up.shape[-2:]) != (h, w):
        raise ValueError(f"input {tuple(x.shape[-2:])} does not upsample by {step} to {out_hw}")
    pad = F.pad(up, (p, p, p, p), mode="reflect")
    if h == k:  # the centre sample is a left-edge position only: no mirror beyond the bottom border
        pad[..., -1, :] = 0
    if w == k:
        pad[..., :, -1] = 0
    flipped = weight.to(x.dtype).flip(-2, -1).transpose(0, 1)  # (1, K, k, k): convolution, not correlation
    return F.conv2d(pad, flipped).to(out_dtype)


def reconstruct_steerable_pyramid_matlab(bands: list[torch.Tensor],
                                         compute_dtype: torch.dtype | None = torch.float32) -> torch.Tensor:
    """matlabPyrTools ``reconSpyr(pyr, ind, 'sp3Filters', 'reflect1')`` on a band list: ``(N, 1, H, W)``.

    ``bands`` has the layout of :func:`~hdrbench.metrics.hdrvdp2.pyramid.build_steerable_pyramid`: finest first,
    ``[high-pass (N,1,H,W), level 1 (N,4,H,W), level 2 (N,4,ceil(H/2),..), ..., low-pass (N,1,h,w)]``.
    The result has the bands' dtype; the convolutions run in ``compute_dtype`` (``None``: the bands' dtype,
    which in float64 matches pyrtools to ~1e-14; the float32 default stays within ~1e-6 relative of it).
    """
    f = sp3_filters(bands[0].dtype, bands[0].device)
    up = partial(up_conv_matlab, compute_dtype=compute_dtype)
    res = bands[-1]
    for level in reversed(bands[1:-1]):
        hw = (level.shape[-2], level.shape[-1])
        res = up(res, f["lo"], hw, 2) + up(level, f["bands"], hw, 1)
    hw = (bands[0].shape[-2], bands[0].shape[-1])
    return up(res, f["lo0"], hw, 1) + up(bands[0], f["hi0"], hw, 1)
