#!/usr/bin/env bash
# The test command: make a virtual environment (.venv), install repsim with its dev tools, run every notebook
# (nbdev_test) and the pytest suite. Needs MNIST: set REPSIM_DATA to a folder holding MNIST/raw/*-ubyte, or be
# online so torchvision downloads it into ./data.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev]"
# nbdev_test runs notebooks in parallel (one per core); one torch thread per notebook avoids oversubscribing
# the cores, which slows small tensor work by an order of magnitude.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
export REPSIM_DATA=${REPSIM_DATA:-$PWD/data}
echo "== nbdev_test (notebooks; REPSIM_DATA=$REPSIM_DATA)"
.venv/bin/nbdev_test --n_workers 2 --timing
echo "== pytest"
.venv/bin/python -m pytest -q tests
