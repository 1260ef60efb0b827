"""Re-implemented single-image HDR baselines (the other rows of the DCDR-UNet paper's Table 1).

Each module holds one method (network, loss, recipe) and registers it on import.
"""

# -- baseline modules (each registers itself on import) --
from baselines import fhdr, hdrcnn, hdrtv, hdrunet, identity, kunet, singlehdr  # noqa: F401
