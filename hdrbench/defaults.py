"""The defaults that several layers need, stated once (a torch-free leaf: every module may import it).

``config`` (what ``bench.toml`` means when it says nothing), ``inference`` (tiling), ``metrics.scoring`` (the
protocol of ``hdrbench score``) and ``train`` (precisions) read them here; nothing here imports hdrbench.
"""

from __future__ import annotations

#: Tile size (pixels) of tiled inference in evaluation and ``hdrbench predict``; 0 runs whole images.
DEFAULT_TILE = 512
#: The scoring protocol when bench.toml or the command line names none (:mod:`hdrbench.metrics.protocols`).
DEFAULT_PROTOCOL = "dcdr"
#: Values of the training switch ``recipes``: each method's official recipe; the DCDR-UNet paper's protocol read
#: as DCDR's own recipe (§4.1.3) on every method (``paper``); or read as §4.4.1 words it, each method's official
#: recipe on the paper's 512² grid patches (``paper-patches``). See :data:`hdrbench.method.PAPER_PROTOCOL`.
RECIPES = ("official", "paper", "paper-patches")
#: The training switch when bench.toml names none: each method's own recipe.
DEFAULT_RECIPES = RECIPES[0]
#: Paired tests of the report (the first is the default).
PAIRED_TESTS = ("wilcoxon", "ttest")
#: ``[train] precision`` values: fp32 (default; TF32 matmuls on CUDA) or an explicit autocast dtype.
PRECISIONS = ("fp32", "bf16", "fp16")
#: Overexposed regions (:mod:`hdrbench.metrics.regions`): the paper's Test set2 threshold on the 8-bit gray value
#: (strictly greater is overexposed, §4.1.1), and the lower edges of the distance (px) and component-size (px²) bins.
REGION_THRESHOLD = 240
DISTANCE_EDGES = (1.0, 4.0, 16.0, 64.0)
SIZE_EDGES = (1.0, 64.0, 1024.0, 16384.0)
#: The display model that turns a method's relative linear HDR into absolute luminance (cd/m²) wherever hdrbench
#: needs nits without a ground truth to anchor on (HDR files for displays, the classical expansion operators'
#: outputs expressed in a dataset's units): the LDR's white, i.e. the relative value the ``identity`` row gives
#: LDR code 1 (the dataset's saturation level), is ITU-R BT.2408's HDR reference white, and the display's peak is
#: BT.2408's 1000 cd/m² HDR10 mastering peak (the ``hdrtv`` metrics' ``peak_luminance``).
REFERENCE_WHITE_NITS = 203.0
DISPLAY_PEAK_NITS = 1000.0
