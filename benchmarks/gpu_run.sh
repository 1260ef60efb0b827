#!/usr/bin/env bash
# The GPU checks of docs/gpu.md as one short script (about 6-8 minutes on an H100; results under $OUT).
#
#   bash benchmarks/gpu_run.sh prepare    # here, once: VGG16 loss weights as float16 into .cache/gpu_carry (29 MB)
#   bash benchmarks/gpu_run.sh            # on the GPU machine, from the checkout root, with .cache/gpu_carry carried
#
# Each step has its own time limit and writes its own file, so a timeout keeps what finished.
set -u
PY=${PYTHON:-python}
CARRY=.cache/gpu_carry
if [ "${1:-}" = prepare ]; then
    mkdir -p "$CARRY"
    "$PY" - "$CARRY" <<'PYEOF'
import sys
from pathlib import Path
from safetensors.torch import load_file, save_file
from hdrbench.weights import cache_dir
src = cache_dir() / "vgg16_imagenet.safetensors"
save_file({k: v.half() for k, v in load_file(src).items()}, str(Path(sys.argv[1]) / src.name))
print("wrote", Path(sys.argv[1]) / src.name)
PYEOF
    exit 0
fi
export PYTHONPATH=$PWD OMP_NUM_THREADS=4 HDRBENCH_CACHE=${HDRBENCH_CACHE:-/tmp/hdrbench-cache} OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$HDRBENCH_CACHE" "$OUT"
if [ -d "$CARRY" ]; then  # float16 carry -> float32 cache
    "$PY" - "$CARRY" "$HDRBENCH_CACHE" <<'PYEOF'
import sys
from pathlib import Path
from safetensors.torch import load_file, save_file
for f in Path(sys.argv[1]).glob("*.safetensors"):
    save_file({k: v.float() for k, v in load_file(f).items()}, str(Path(sys.argv[2]) / f.name))
PYEOF
fi
{ nvidia-smi -L; "$PY" -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__)"; } \
    > "$OUT/card.txt" 2>&1
timeout 240 "$PY" -m pytest -q -p no:xdist -x tests/test_cuda.py tests/test_deform_conv_triton.py \
    tests/test_deform_conv.py::test_cuda_matches_the_cpu_kernel > "$OUT/tests.txt" 2>&1
timeout 90 "$PY" benchmarks/deform_conv.py --device cuda --torchvision --sizes 512x512,1024x2048 \
    > "$OUT/deform_conv.txt" 2>&1
timeout 330 "$PY" benchmarks/gpu.py --out "$OUT/gpu.csv" > "$OUT/gpu.txt" 2>&1
cat "$OUT/card.txt"; tail -n 3 "$OUT/tests.txt"; cat "$OUT/deform_conv.txt"; tail -n 20 "$OUT/gpu.txt"
