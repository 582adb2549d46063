# `make run` and `make test` each bootstrap .venv, so both work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: run test lint typecheck check bench node-deps clean image-test

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

run: $(STAMP)
	$(BIN)/countersign demo

test: $(STAMP) $(NODE_STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

bench: $(STAMP)
	$(BIN)/python -m bench

# On demand, never in `make test` (needs root, takes minutes): a Debian base made with debootstrap, the
# Containerfile built on it (podman --isolation=chroot), and the image's `countersign serve` run by chroot
# against the local PostgreSQL until /readyz answers. See tests/fleet/image_test.sh.
image-test:
	tests/fleet/image_test.sh

clean:
	rm -rf $(VENV) node_modules countersign.db*
