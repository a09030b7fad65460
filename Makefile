# Two entry points for a fresh machine: `make lab` (the main job) and `make test` (every suite).
# Everything else here is a building block of those two.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8888
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: lab test install chromium docker-engine docker-engine-stop mlflow-venv lint pytest jest ui-test clean help

help:
	@echo "make lab   - set up .venv, build the extension and start JupyterLab on examples/"
	@echo "make test  - set up everything the tests need and run ruff, pytest, jest and UI tests"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Installs the package editable with its dependencies; the hatch jupyter-builder hook runs
# `jlpm install` and builds the TypeScript. The labextension is then linked into the venv.
$(VENV)/.installed: $(BIN)/python pyproject.toml package.json
	$(BIN)/pip install --quiet -e ".[test]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	$(BIN)/jupyter labextension develop . --overwrite
	$(BIN)/jupyter server extension enable --sys-prefix jupyterlab_mlops >/dev/null
	touch $@

install: $(VENV)/.installed
	$(BIN)/jlpm build
	@$(BIN)/jupyter labextension list 2>&1 | grep -q "jupyterlab-mlops.*enabled.*OK" \
	  || { echo "the labextension is not enabled"; exit 1; }

lab: install
	cd examples && ../$(BIN)/jupyter lab --port=$(PORT) $(if $(filter 0,$(shell id -u)),--allow-root,)

chromium:
	@test -x /usr/bin/chromium || { \
	  echo "installing Debian's chromium for the UI tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null; }

# ruff, the import-linter layer contracts of docs/architecture.md, and the check that the
# frontend's generated API types match the server's OpenAPI document.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/jlpm check:api

# A real Docker engine and a local base image (no registry is needed): see
# scripts/docker-engine.sh. The image-build tests use them through DOCKER_HOST.
DOCKER_SOCK := /tmp/mlops-docker/docker.sock
docker-engine:
	scripts/docker-engine.sh start
	scripts/docker-engine.sh base-image

docker-engine-stop:
	scripts/docker-engine.sh stop

# MLflow in an interpreter of its own (an optional extra the package never imports), with this
# venv's scikit-learn, numpy, pandas and skops, for the MLflow interchange tests.
MLFLOW_VENV := .venv-mlflow
$(MLFLOW_VENV)/.installed: $(VENV)/.installed
	$(PYTHON) -m venv $(MLFLOW_VENV)
	$(MLFLOW_VENV)/bin/pip install --quiet mlflow-skinny $$($(BIN)/python -c "from importlib.metadata import version as v; print(' '.join(f'{p}=={v(p)}' for p in ('scikit-learn', 'numpy', 'pandas', 'scipy', 'skops')))")
	touch $@

mlflow-venv: $(MLFLOW_VENV)/.installed

pytest: install docker-engine mlflow-venv
	DOCKER_HOST=unix://$(DOCKER_SOCK) MLOPS_TEST_BASE_IMAGE=localhost/mlops-base:bookworm \
	  $(BIN)/pytest tests

jest: install
	$(BIN)/jlpm test

ui-test: install chromium
	$(BIN)/pytest ui-tests

test: install chromium lint pytest jest ui-test

clean:
	rm -rf $(VENV) $(MLFLOW_VENV) node_modules lib jupyterlab_mlops/labextension tsconfig.tsbuildinfo
