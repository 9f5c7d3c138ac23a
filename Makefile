# The two commands of the README:
#   make demo   install, create the schema, load data/, run a sample search
#   make test   install, then lint, type-check and run the test suite
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
SAMPLE := data/hf-blogs-sample.parquet

.PHONY: demo test install lint clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@# CPU-only torch first: a plain `torch` requirement would pull several GB of CUDA builds.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

demo: install
	$(BIN)/hfsearch migrate
	$(BIN)/hfsearch load $(SAMPLE)
	$(BIN)/hfsearch stats
	$(BIN)/hfsearch search "quantize a model to 4-bit with bitsandbytes" -k 3

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

clean:
	-$(BIN)/hfsearch db stop
	rm -rf $(VENV) .hfsearch
