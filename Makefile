# Vigil. Quick start: `make run` (the app, no servers needed) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test test-unit test-integration test-browser test-k8s test-chart test-image e2e e2e-full e2e-down image manifests bench k8s-assets clean

$(BIN)/activate: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(BIN)/activate

venv: $(BIN)/activate

## run: the embedded default (SQLite, in-process Redis stand-ins) on http://127.0.0.1:$(PORT)
run: venv
	PORT=$(PORT) $(BIN)/python -m app

## test: the whole suite; services it needs are started by fixtures (see tests/README.md)
test: venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-unit: venv
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

test-integration: venv
	$(BIN)/python -m pytest tests/integration $(PYTEST_ARGS)

test-browser: venv
	$(BIN)/python -m pytest tests/browser $(PYTEST_ARGS)

test-k8s: venv
	KUBEBUILDER_ASSETS=$${KUBEBUILDER_ASSETS:-$$(bash hack/k8s-assets.sh)} $(BIN)/python -m pytest tests/k8s $(PYTEST_ARGS)

test-chart: venv
	KUBEBUILDER_ASSETS=$${KUBEBUILDER_ASSETS:-$$(bash hack/k8s-assets.sh)} $(BIN)/python -m pytest tests/chart $(PYTEST_ARGS)

## manifests: regenerate cronjobs/, the chart's generated jobs values, k8s/base and k8s/components
manifests: venv
	PYTHON=$(BIN)/python bash hack/render-manifests.sh

IMAGE ?= vigil:dev
BASE_IMAGE ?=

## image: build the image with BuildKit: private dockerd (hack/docker-engine.sh), a debootstrap
##        base unless BASE_IMAGE is set (e.g. python:3.12-slim), the machine's pip CA as secret pip_ca
image:
	@eval "$$(bash hack/docker-engine.sh)" && \
	base="$(BASE_IMAGE)" && { [ -n "$$base" ] || base="$$(bash hack/base-image.sh | tail -n1)"; } && \
	pipconf="$$(python3 -m pip config list 2>/dev/null || true)" && \
	ca="$$(printf '%s\n' "$$pipconf" | sed -n "s/^[^=]*\.cert='\(.*\)'$$/\1/p" | head -n1)" && \
	index="$$(printf '%s\n' "$$pipconf" | sed -n "s/^[^=]*\.index-url='\(.*\)'$$/\1/p" | head -n1)" && \
	$$DOCKER build --network=host --build-arg BASE_IMAGE="$$base" \
	  $${ca:+--secret id=pip_ca,src=$$ca} $${index:+--build-arg PIP_INDEX_URL=$$index} \
	  --build-arg VERSION="$$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)" \
	  --build-arg REVISION="$$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
	  -t $(IMAGE) .

test-image: venv
	$(BIN)/python -m pytest tests/image $(PYTEST_ARGS)

KEEP ?= 0
## e2e: the whole system on a real kind cluster (hack/e2e.sh): node image (offline here), chart,
##      helm test, tests/e2e in Chromium through the ingress. KEEP=1 leaves the cluster up.
e2e: venv
	KEEP=$(KEEP) PYTHON=$(abspath $(BIN))/python bash hack/e2e.sh

## e2e-full: make e2e plus scenario 8 (metrics-server, the HPA scaling out and back in: ~10 min more)
e2e-full: venv
	E2E_FULL=1 KEEP=$(KEEP) PYTHON=$(abspath $(BIN))/python bash hack/e2e.sh

## e2e-down: remove a cluster that `make e2e KEEP=1` left up
e2e-down:
	bash hack/e2e.sh down

## k8s-assets: build (or reuse) etcd, kube-apiserver, kube-controller-manager, kubectl, helm
k8s-assets:
	bash hack/k8s-assets.sh

## bench: python -m bench web (see bench/)
bench: venv
	$(BIN)/python -m bench web

clean:
	rm -rf $(VENV) instance .pytest_cache
