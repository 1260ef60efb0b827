"""Where a dataset's LDR saturates, measured from its pairs (for methods that work in saturation units).

HDRCNN and SingleHDR work in units where the LDR saturates at 1; their option ``hdr_scale`` is the ground-truth
value of that level. Virtual-camera datasets declare it (:meth:`~hdrbench.datasets.base.PairedDataset.ldr_camera`);
for real pairs (Cityscapes: 8-bit LDR from a global log curve of the 16-bit linear image) it has to be read off
the data: :func:`measured_saturation` takes the pixels whose LDR reaches code 255 in some channel and returns a low
quantile of their ground-truth peak channel, i.e. the HDR value at which the LDR starts to clip.
"""

from __future__ import annotations

import numpy as np

from hdrbench.datasets.base import PairedDataset
from hdrbench.errors import HDRBenchError

#: An 8-bit LDR value that rounds to 255.
CODE_255 = 254.5 / 255.0


def measured_saturation(dataset: PairedDataset, split: str | None = None, max_pairs: int = 32,
                        quantile: float = 0.01) -> float:
    """The ground-truth value (dataset units) at which the LDR saturates: the ``quantile`` of ``max_c hdr`` over
    the pixels with ``max_c ldr`` at code 255, pooled over the first ``max_pairs`` pairs of ``split`` (default the
    training split). Errors if no LDR pixel saturates."""
    pairs = dataset.pairs(split or dataset.train_split)[:max_pairs]
    peaks = []
    for pair in pairs:
        ldr, hdr = dataset.load_pair(pair)
        clipped = ldr.max(axis=-1) >= CODE_255
        peaks.append(hdr.max(axis=-1)[clipped])
    values = np.concatenate(peaks) if peaks else np.zeros(0)
    if values.size == 0:
        raise HDRBenchError(f"no LDR pixel reaches 255 in the first {len(pairs)} pairs of '{split}': the saturation "
                            "level cannot be measured; set hdr_scale by hand")
    return float(np.quantile(values, quantile))
