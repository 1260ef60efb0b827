"""Re-implemented single-image HDR baselines (the other rows of the DCDR-UNet paper's Table 1).

Each module holds one method (network, loss, recipe); ``pyproject.toml`` registers it
(``[project.entry-points."hdrbench.methods"]``), and hdrbench imports it when the method is first used.
"""
