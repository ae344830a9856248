# Every target creates or refreshes .venv by itself.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 8765
# make test's pytest-xdist workers (make test WORKERS=0 runs in one process).  More than
# the two cores of the usual machine: the agent's tests mostly wait on real time (slices,
# idle thresholds, a SIGSTOP, a five-minute jiggler), and while they wait the other workers
# use the cores.  Every fixture is per worker (its own databases, ports, X server, browser).
WORKERS ?= 4

.PHONY: run test bench bench-anchors lint format clean system screenshots assets agent-dist

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

## make assets: refresh the vendored Chart.js (collector/assets/vendor/) from
## collector/assets/package-lock.json; needs npm, and only when upgrading it.
assets:
	@scripts/vendor-assets.sh

## make run: collector on SQLite with demo data; prints the URL and the demo logins.
run: $(STAMP)
	@HOST=$(HOST) PORT=$(PORT) scripts/run-demo.sh

## make system: system packages and services the tests need (PostgreSQL started).
system:
	@scripts/setup-system.sh

## make test: every test, on SQLite and on PostgreSQL, spread over the cores a file at a
## time (a module's tests share its module-scoped fixtures: a server, a build), in the
## files' order: the agent's few long, mostly waiting tests start first, not last.
test: $(STAMP) system
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadfile --no-loadscope-reorder

## make bench: speed and memory figures, printed as a table.
bench: $(STAMP) system
	$(BIN)/python -m bench

## make bench-anchors: ActivityWatch's aw-server in .venv-anchors/ (its own venv: its
## dependencies clash with ours); make bench then measures it beside the collector.
bench-anchors:
	@PYTHON=$(PYTHON) scripts/install-bench-anchors.sh .venv-anchors

## make agent-dist: the agent as a bundle that needs no Python (PyInstaller, onedir) for
## this OS, packed into dist/ with the installers and SHA256SUMS: what the collector serves.
agent-dist: $(STAMP)
	$(BIN)/python packaging/agent/build_bundle.py --out dist

## make screenshots: refresh docs/screenshots from the browser tests.
screenshots: $(STAMP) system
	CHATTER_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest tests/collector/browser -q

## make lint: style, types, and the import contracts (pyproject.toml [tool.importlinter]).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/actionlint

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .venv-anchors build dist .demo .pytest_cache .mypy_cache .ruff_cache *.egg-info
