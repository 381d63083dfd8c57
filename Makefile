# Mask R-CNN on iExec. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): requirements.lock requirements-dev.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

venv: $(STAMP) ## Create the local virtualenv (.venv) with pinned dependencies

test: $(STAMP) ## Run the test suite (fast default lane)
	$(PY) -m pytest -q

lint: $(STAMP) ## ruff
	$(PY) -m ruff check app tests bench

bench: $(STAMP) ## Benchmarks (not tests): engine start-up, per-image time vs the FLOP limit, RSS; whole task
	$(PY) bench/bench_engine.py --runs 5
	@if [ -f bench/bench_task.py ]; then $(PY) bench/bench_task.py; fi

.PHONY: help venv test lint bench

# ---- run, weights, image (issue 4) ----
OUT ?= out
WEIGHTS ?=
WEIGHTS_FILE ?= mask_rcnn_coco.h5
WEIGHTS_PATH ?= weights/$(WEIGHTS_FILE)
WEIGHTS_URL ?=
WEIGHTS_SOURCE ?= download
IMAGE ?= mask-rcnn-iexec:latest
# docker when a daemon answers, else podman (recursive: only probed by the targets that use it)
ENGINE ?= $(shell docker info >/dev/null 2>&1 && echo docker || echo podman)

run: $(STAMP) ## The main job locally on the bundled sample (URL=… an image; WEIGHTS=file.h5 skips the download)
	@if [ -n "$(WEIGHTS)" ]; then w="$(WEIGHTS)"; \
	elif [ -n "$$MRCNN_WEIGHTS" ]; then w="$$MRCNN_WEIGHTS"; \
	else w="$(WEIGHTS_PATH)"; \
	  python3 weights/fetch_weights.py --dest "$$w" $(if $(WEIGHTS_URL),--url "$(WEIGHTS_URL)") || { \
	    echo "make run: stopped before running the model: no COCO weights (see above)." >&2; exit 1; }; \
	fi; \
	set -x; $(PY) -m app --weights "$$w" --out "$(OUT)" $(ARGS) $(URL)

weights: ## Download weights/mask_rcnn_coco.h5 (resumable; size and md5 checked)
	@python3 weights/fetch_weights.py --dest "$(WEIGHTS_PATH)" $(if $(WEIGHTS_URL),--url "$(WEIGHTS_URL)")

build: ## Build the image (IMAGE=name:tag; WEIGHTS_SOURCE=local uses weights/mask_rcnn_coco.h5)
	$(ENGINE) build -f docker_keras_cpu/Dockerfile -t "$(IMAGE)" \
	  --build-arg WEIGHTS_SOURCE="$(WEIGHTS_SOURCE)" --build-arg WEIGHTS_FILE="$(WEIGHTS_FILE)" \
	  $(if $(WEIGHTS_URL),--build-arg WEIGHTS_URL="$(WEIGHTS_URL)") $(BUILD_ARGS) .

push: ## Push IMAGE to its registry and print the digest for iexec.json (refuses non-COCO weights)
	@src=$$($(ENGINE) image inspect --format '{{index .Config.Labels "mrcnn.weights-source"}}' "$(IMAGE)") || exit 1; \
	if [ "$$src" != download ] && [ -z "$(FORCE)" ]; then \
	  echo "make push: $(IMAGE) was built with WEIGHTS_SOURCE=$$src, not the verified COCO download; FORCE=1 to push anyway" >&2; \
	  exit 1; fi
	$(ENGINE) push "$(IMAGE)"
	@echo "digest (iexec.json app.checksum is 0x + the hex after sha256:):"; \
	$(ENGINE) image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$(IMAGE)"

docker-run: ## Run the built image on URL=… (or the bundled sample), output in ./out
	@mkdir -p "$(OUT)"; \
	if [ "$$(id -u)" = 0 ]; then chown 10001:10001 "$(OUT)"; user=; \
	elif [ "$(ENGINE)" = podman ]; then user="--userns=keep-id --user $$(id -u):$$(id -g)"; \
	else user="--user $$(id -u):$$(id -g)"; fi; \
	set -x; $(ENGINE) run --rm $$user -v "$(abspath $(OUT)):/iexec_out" "$(IMAGE)" $(ARGS) $(URL)

test-container: $(STAMP) ## Build the image with random weights, run it offline, check its outputs (CI; root)
	bash .ci/container-lane.sh

lock-image: ## Regenerate docker_keras_cpu/requirements-image.txt (hashes) from requirements.lock
	bash docker_keras_cpu/lock-image.sh

.PHONY: run weights build push docker-run test-container lock-image

# ---- iExec deploy path (issue 5) ----
IEXEC_TOOLS := tools/iexec
IEXEC_STAMP := $(IEXEC_TOOLS)/node_modules/.installed
IEXEC_JSON ?= iexec.json
IEXEC_DIR ?= .

$(IEXEC_STAMP): $(IEXEC_TOOLS)/package.json $(IEXEC_TOOLS)/package-lock.json
	cd $(IEXEC_TOOLS) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

iexec-tools: $(IEXEC_STAMP) ## Install the pinned iExec SDK 9.0.1 CLI (+ hardhat for tests) in tools/iexec
	@echo 'iexec CLI: export PATH="$(CURDIR)/$(IEXEC_TOOLS)/node_modules/.bin:$$PATH"'

iexec-app: ## Write IMAGE's registry digest, multiaddr and OWNER into iexec.json (after make push)
	$(PYTHON) $(IEXEC_TOOLS)/set_app.py --image "$(IMAGE)" --iexec-json "$(IEXEC_JSON)" \
	  $(if $(OWNER),--owner "$(OWNER)") $(if $(DIGEST),--digest "$(DIGEST)",--engine "$(ENGINE)")

iexec-validate: $(IEXEC_STAMP) ## Check iexec.json and chain.json offline with the SDK's own validators
	node $(IEXEC_TOOLS)/validate-iexec-project.mjs "$(IEXEC_DIR)"

test-iexec: $(STAMP) $(IEXEC_STAMP) ## iExec lane: SDK validators, local chain (hardhat + PoCo), deploy/run/download
	$(PY) -m ruff check $(IEXEC_TOOLS)/set_app.py
	IEXEC_LANE=1 $(PY) -m pytest -q -p no:cacheprovider tests/iexec

.PHONY: iexec-tools iexec-app iexec-validate test-iexec
