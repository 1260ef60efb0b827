"""``python -m dcdr.ops``: build the fast CPU kernels now (``make`` runs it) and say which backend is active.

Exits 0 even when the build fails: :func:`dcdr.ops.deform_conv2d` then uses torchvision's kernel.
"""

from dcdr.ops import fast_available, get_backend, native

if fast_available():
    print(f"dcdr.ops: fast CPU deformable convolution ready ({native.load()._name}); backend={get_backend()}")
else:
    print("dcdr.ops: fast kernels unavailable (see the warning above); deform_conv2d uses torchvision's kernel")
