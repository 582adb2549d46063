# `make run` and `make test` each bootstrap .venv, so both work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
CLIENTS_STAMP := .clients-venv/.installed

.PHONY: run test test-slow lint typecheck check bench bench-proxy node-deps clean image-test

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Node clients used by the test suite (TypeScript SDK, MCP conformance suite on Node 22).
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

node-deps: $(NODE_STAMP)

# fastmcp and langchain-mcp-adapters (tests/clients) need mcp<2, which cannot share .venv: their own virtualenv.
$(CLIENTS_STAMP): tests/clients/requirements.txt
	$(PYTHON) -m venv .clients-venv
	.clients-venv/bin/pip install -q -r tests/clients/requirements.txt
	touch $@

run: $(STAMP)
	$(BIN)/countersign demo

# Two workers: most tests wait on processes, sockets and databases, so two share this 2-core machine well.
TEST_WORKERS ?= 2

test: $(STAMP) $(NODE_STAMP) $(CLIENTS_STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) -m "not slow"

test-slow: $(STAMP) $(NODE_STAMP) $(CLIENTS_STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) -m slow

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

bench: $(STAMP)
	$(BIN)/python -m bench

# mcp-proxy (the baseline of bench/bench_upstream.py) needs mcp 1.x: its own virtualenv.
bench-proxy: .bench-proxy-venv/bin/mcp-proxy
.bench-proxy-venv/bin/mcp-proxy: bench/requirements-mcp-proxy.txt
	python3 -m venv .bench-proxy-venv
	.bench-proxy-venv/bin/pip install -q -r bench/requirements-mcp-proxy.txt
	touch $@

# On demand, never in `make test` (needs root, takes minutes): a Debian base made with debootstrap, the
# Containerfile built on it (podman --isolation=chroot), and the image's `countersign serve` run by chroot
# against the local PostgreSQL until /readyz answers. See tests/fleet/image_test.sh.
image-test:
	tests/fleet/image_test.sh

clean:
	rm -rf $(VENV) .clients-venv node_modules countersign.db*
