# hdrbench: two commands do all the set-up on a fresh machine (Debian, Python 3.11, no GPU).
#   make demo   create .venv, install everything, prepare weights, run the demo benchmark
#   make test   same environment, run the test suite
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
HDRB   := $(VENV)/bin/hdrbench
STAMP  := $(VENV)/.installed

.PHONY: setup weights ops demo test lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

weights: $(STAMP)
	$(HDRB) weights prepare

ops: $(STAMP)  # builds the fast CPU deformable convolution (falls back to torchvision's if it cannot)
	$(PY) -m dcdr.ops

demo: weights ops
	$(HDRB) run bench.toml

test: weights ops
	$(PY) -m pytest -q -n 2 tests

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) .cache results/*/
