# Two commands matter: `make run` and `make test`. Both work on a fresh machine with Python 3.11.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8501

.PHONY: venv run test lint demo db bench bench-metrics bench-browser bench-filter bench-sessions bench-import clean

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .  # .venv/bin/thenandnow
	touch $(STAMP)

# The virtual environment with the pinned dependencies and .venv/bin/thenandnow.
venv: $(STAMP)

# init loads the demo into an empty database but computes no causal estimates, so the server
# starts at once; `estimate --all` stores them in the background (log: data/estimate.log)
# while the dashboard shows everything else (the evidence card waits for them).
db: $(STAMP)
	$(BIN)/thenandnow init --no-estimates

run: db
	mkdir -p data && ($(BIN)/thenandnow estimate --all > data/estimate.log 2>&1 &)
	$(BIN)/streamlit run app.py --server.port $(PORT) --server.headless true

test: $(STAMP)
	rm -f tests/artifacts/reruns.txt
	$(BIN)/python -m pytest -n 2 --dist loadfile -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

demo: $(STAMP)
	$(BIN)/thenandnow demo

# Benchmarks print figures (see benchmarks/README.md); they are never timed tests.
# The large account (scale 14, ≥ 1M daily KPI rows) is built once under data/ and reused.
# Extra flags: make bench-metrics METRICS_ARGS="--repeat 9", FILTER_ARGS=…, SESSIONS_ARGS=…
bench: bench-metrics bench-browser

bench-import: $(STAMP)
	$(BIN)/python benchmarks/import_memory.py $(IMPORT_ARGS)

bench-metrics: $(STAMP)
	$(BIN)/python benchmarks/metrics_vs_duckdb.py $(METRICS_ARGS)

bench-browser: bench-filter bench-sessions

bench-filter: $(STAMP)
	$(BIN)/python benchmarks/filter_change.py $(FILTER_ARGS)

bench-sessions: $(STAMP)
	$(BIN)/python benchmarks/concurrent_sessions.py $(SESSIONS_ARGS)

clean:
	rm -rf $(VENV) data/*.sqlite* tests/artifacts
