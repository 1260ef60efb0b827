"""The classical expansion operators (inverse tone mapping) of HDR Toolbox as untrained methods: ``akyuz``,
``landis``, ``masia``, ``huo``, ``kovaleski-oliveira``.

:mod:`baselines.expansion.core` holds the numpy operators, read from HDR Toolbox (F. Banterle, GPL v3,
``banterle/HDR_Toolbox`` commit 5375d056fb7eee3beebe5c1fe0b199fbadfcc049, ``source_code/EO/``) with its default
parameters, and tested against that code run under GNU Octave (``tests/test_expansion_operators.py``);
:mod:`baselines.expansion.method` the registered methods. No toolbox code is copied here.

**Units.** The operators return cd/m² on the toolbox's scale (``max_output`` 5000 cd/m² by default). hdrbench's
display model (:data:`hdrbench.defaults.REFERENCE_WHITE_NITS`) puts the LDR's white at 203 cd/m² and the LDR's white
is the dataset's saturation level ``s``: the value ``identity`` gives LDR code 1, from ``dataset.ldr_camera(test_set)``
via ``bind_dataset``, else the option ``scale``, else 1. So ``hdr = s · EO_nits / REFERENCE_WHITE_NITS``: an operator
peaking at 5000 cd/m² reaches ``24.6 s``, about 4.6 stops above the LDR's white (the ``demo`` set has 6 stops).

**Linearisation.** The toolbox's ``gammaRemoval`` (``img.^2.2``, its demo's value) unless the dataset declares its
camera response, which is then inverted instead (``response.inverse``, as ``identity`` does); the option ``gamma``
wins over both. Kovaleski-Oliveira's threshold and range sigma are linearised by the same response, as the
toolbox raises them to ``gammaRemoval``.

**Whole images.** Every operator uses whole-image statistics (min, max, log-mean, key, percentiles) and the
bilateral grids are anchored at the image corner, so each declares ``global_context`` and ``tileable = False``:
:func:`hdrbench.models.predict_image` runs them whole whatever ``tile`` says.
"""

from baselines.expansion.method import Akyuz, ExpansionOperator, Huo, KovaleskiOliveira, Landis, Masia

__all__ = ["Akyuz", "ExpansionOperator", "Huo", "KovaleskiOliveira", "Landis", "Masia"]
