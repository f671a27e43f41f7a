#!/usr/bin/env bash
# Renders an overlay with the apply-defaults function applied, on a fresh machine:
#
#   scripts/render.sh overlays/prod                   # the AI Interviewer, prod (stdout)
#   scripts/render.sh examples/interview-prep/overlays/prod
#
# kustomize runs the function as a container with the docker CLI. This script finds a working
# engine (a Docker daemon, or podman behind the `docker` shim in scripts/docker-shim, also when a
# `docker` CLI is installed but its daemon is unreachable); on a Debian machine with neither it
# installs podman and runc as CI does (root only), builds the function image
# (scripts/build-image.sh, skipped when up to date) and runs
# `kubectl kustomize --enable-alpha-plugins OVERLAY`.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
overlay=${1:-overlays/prod}
cd "$root"

say() { echo "render: $*" >&2; }

shim=""
if docker info >/dev/null 2>&1; then
    export CONTAINER_ENGINE=docker
else
    # A `docker` CLI without a reachable daemon would fail inside kustomize with "Cannot
    # connect to the Docker daemon"; say once what happens instead.
    if command -v docker >/dev/null 2>&1; then
        say "docker is installed but its daemon is unreachable (docker info failed): using podman through scripts/docker-shim"
    fi
    if ! command -v podman >/dev/null 2>&1; then
        if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
            say "no container engine: installing podman and runc (apt-get)"
            apt-get update -q >&2
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q podman runc >&2
        else
            say "kustomize needs a container engine for the function: install Docker or podman"
            exit 1
        fi
    fi
    # crun fails on some hosts (cgroups hybrid mode); runc without default ulimits works.
    if [[ $(id -u) == 0 && ! -f /etc/containers/containers.conf ]]; then
        mkdir -p /etc/containers
        printf '[containers]\ndefault_ulimits = []\n[engine]\nruntime = "runc"\n' > /etc/containers/containers.conf
    fi
    export CONTAINER_ENGINE=podman
    shim=$root/scripts/docker-shim
fi

scripts/build-image.sh >&2
PATH="${shim:+$shim:}$PATH" kubectl kustomize --enable-alpha-plugins "$overlay"
