# The workflow of the migration plans: build the function image, render each environment,
# validate the output, apply it.
#
#   make image                    build the static binary and the function image
#   make render-dev render-prod   render the AI Interviewer into out/
#   make validate                 check every rendered object against the Kubernetes API schemas
#   make apply-dev apply-prod     render, then kubectl apply -f the rendered file (needs a cluster)
#   make test                     cargo test
#
# STACK=examples/interview-prep renders the Interview Prep Trainer instead.

STACK ?= .
OUT ?= out
KUBECTL ?= kubectl
# kustomize runs container functions with the docker CLI. When no Docker daemon answers
# (`docker info` fails: no docker CLI, or one whose daemon is unreachable), the shipped shim
# runs podman instead; DOCKER_SHIM= (empty) turns that off, DOCKER_SHIM=dir picks another.
DOCKER_SHIM ?= $(shell docker info >/dev/null 2>&1 || echo $(CURDIR)/scripts/docker-shim)
KUSTOMIZE_FLAGS = --enable-alpha-plugins
PATH_WITH_SHIM = $(if $(DOCKER_SHIM),$(DOCKER_SHIM):)$$PATH
# kubernetes-validate (PyPI) lives in this virtualenv unless it is already on PATH.
VENV ?= .venv
VALIDATE ?= $(shell command -v kubernetes-validate 2>/dev/null || echo $(VENV)/bin/kubernetes-validate)
# The API version pinned beside the newest one kubernetes-validate knows.
KUBERNETES_VERSION ?= 1.33.0

.PHONY: image render-dev render-prod render validate apply-dev apply-prod test clean-out

image:
	scripts/build-image.sh

render-dev render-prod: render-%:
	@mkdir -p $(OUT)
	PATH="$(PATH_WITH_SHIM)" $(KUBECTL) kustomize $(KUSTOMIZE_FLAGS) $(STACK)/overlays/$* > $(OUT)/$*.yaml
	@echo "rendered $(STACK)/overlays/$* -> $(OUT)/$*.yaml"

render: render-dev render-prod

$(VENV)/bin/kubernetes-validate:
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet kubernetes-validate

validate: render $(if $(findstring $(VENV)/,$(VALIDATE)),$(VALIDATE))
	$(VALIDATE) --strict --quiet -k $(KUBERNETES_VERSION) $(OUT)/dev.yaml $(OUT)/prod.yaml
	$(VALIDATE) --strict --quiet $(OUT)/dev.yaml $(OUT)/prod.yaml
	@echo "$(OUT)/dev.yaml and $(OUT)/prod.yaml are valid for Kubernetes $(KUBERNETES_VERSION) and the newest schemas"

# `kubectl apply -k` cannot run the function (it has no --enable-alpha-plugins), so apply what
# render-% wrote: a failed render stops make before anything reaches the cluster. Prod needs its
# Secrets first (docs/stacks.md).
apply-dev apply-prod: apply-%: render-%
	$(KUBECTL) apply -f $(OUT)/$*.yaml

test:
	cargo test

clean-out:
	rm -rf $(OUT)
