"""Per-cell statistics of the report tables: bootstrap confidence intervals and paired tests.

* :func:`bootstrap_ci`: percentile bootstrap of the mean over images (``scipy.stats.bootstrap``, seeded).
* :func:`paired_test`: each method against the column's best on the same images. The default is the
  Wilcoxon signed-rank test (``scipy.stats.wilcoxon``, two-sided): per-image differences of PSNR-type
  scores are skewed and heavy-tailed (a few saturated images dominate), so a rank test is the safer
  choice than the paired t-test, which is available as ``report.test = "ttest"``. The p-value is exact
  for up to 50 images without tied differences, otherwise the tie-corrected normal approximation
  (scipy's permutation fallback is too slow for a report).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats


def bootstrap_ci(values: np.ndarray, *, confidence: float = 0.95, resamples: int = 2000,
                 seed: int = 0) -> tuple[float, float]:
    """``(low, high)`` percentile-bootstrap interval of the mean of ``values`` (NaN for fewer than 2)."""
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size < 2:
        return math.nan, math.nan
    if np.all(x == x[0]):
        return float(x[0]), float(x[0])
    res = stats.bootstrap((x,), np.mean, confidence_level=confidence, n_resamples=resamples, method="percentile",
                          rng=np.random.default_rng(seed), vectorized=True)
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def paired_test(a: np.ndarray, b: np.ndarray, test: str = "wilcoxon") -> float:
    """Two-sided p-value that paired samples ``a`` and ``b`` differ (1.0 when they are identical)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    if a.size < 2 or np.all(a == b):
        return 1.0 if a.size else math.nan
    if test == "ttest":
        d = a - b
        if np.ptp(d) <= 1e-12 * max(1.0, float(np.abs(d).max())):  # constant difference: infinite t statistic
            return 0.0
        return float(stats.ttest_rel(a, b).pvalue)
    d = np.abs(a - b)
    d = d[d > 0]
    exact = d.size <= 50 and np.unique(d).size == d.size  # exact null without ties; else normal approximation
    return float(stats.wilcoxon(a, b, zero_method="wilcox", alternative="two-sided",
                                method="exact" if exact else "asymptotic").pvalue)
