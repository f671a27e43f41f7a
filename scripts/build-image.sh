#!/usr/bin/env bash
# Builds the static apply-defaults binary and packages it as the function image, offline: the
# Containerfile's `prebuilt` stage is scratch + passwd + this binary, so no registry is needed.
#
#   scripts/build-image.sh              build (skipped when binary and image inputs are unchanged)
#   scripts/build-image.sh --force      rebuild the image even when it looks up to date
#   scripts/build-image.sh --print-tag  print the image reference and exit
#
# The image reference is the one users put in their kustomizations, read from
# functions/container/kustomization.yaml so it is written in one place only.
# Env: APPLY_DEFAULTS_IMAGE (another reference, e.g. a private tag on a shared machine),
# CARGO_TARGET_DIR (honoured), CONTAINER_ENGINE (default podman).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

fallback_tag=ghcr.io/apply-defaults/apply-defaults:0.1.0
tag_file=functions/container/kustomization.yaml
engine=${CONTAINER_ENGINE:-podman}
target_triple=x86_64-unknown-linux-gnu
fingerprint_label=dev.apply-defaults.build.fingerprint

image_tag() {
    local tag=${APPLY_DEFAULTS_IMAGE:-}
    if [[ -z $tag && -f $tag_file ]]; then
        # The first `image:` value; quotes are optional in YAML.
        tag=$(sed -n -E 's/^[[:space:]]*image:[[:space:]]*["'\'']?([^"'\''[:space:]#]+).*/\1/p' "$tag_file" | head -n 1)
    fi
    if [[ -z $tag ]]; then
        echo "build-image: no image: line in $tag_file (missing?); using $fallback_tag" >&2
        tag=$fallback_tag
    fi
    printf '%s\n' "$tag"
}

force=false
case "${1:-}" in
    --print-tag) image_tag; exit 0 ;;
    --force) force=true ;;
    "") ;;
    *) echo "usage: $0 [--force | --print-tag]" >&2; exit 2 ;;
esac

tag=$(image_tag)
# The software's version, not the tag's: a tag may be `dev` or `latest`.
version=$(sed -n -E 's/^version[[:space:]]*=[[:space:]]*"([^"]+)".*/\1/p' Cargo.toml | head -n 1)

echo "build-image: building the static binary (crt-static, $target_triple)" >&2
RUSTFLAGS='-C target-feature=+crt-static' \
    cargo build --release --locked --target "$target_triple" --bin apply-defaults
binary=${CARGO_TARGET_DIR:-$root/target}/$target_triple/release/apply-defaults

# A binary that still wants a loader would fail in scratch with a confusing "no such file".
if readelf -l "$binary" 2>/dev/null | grep -q 'Requesting program interpreter'; then
    echo "build-image: $binary is dynamically linked; the image needs a static binary" >&2
    exit 1
fi

# Everything that ends up in the image, so an unchanged input set means an unchanged image.
fingerprint=$(cat "$binary" Containerfile scripts/image/etc/passwd scripts/image/etc/group \
    <(printf '%s' "$tag") | sha256sum | cut -d' ' -f1)
current=$("$engine" image inspect --format "{{ index .Config.Labels \"$fingerprint_label\" }}" "$tag" 2>/dev/null || true)
if [[ $force == false && $current == "$fingerprint" ]]; then
    echo "build-image: $tag is up to date (binary unchanged), not rebuilt" >&2
    exit 0
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
install -m 0755 "$binary" "$stage/apply-defaults"
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
created=$(date -u +%Y-%m-%dT%H:%M:%SZ)

echo "build-image: packaging $tag (Containerfile target prebuilt)" >&2
"$engine" build \
    --file Containerfile \
    --target prebuilt \
    --layers=false \
    --build-context "dist=$stage" \
    --build-arg "VERSION=$version" \
    --build-arg "REVISION=$revision" \
    --label "org.opencontainers.image.created=$created" \
    --label "$fingerprint_label=$fingerprint" \
    --annotation "org.opencontainers.image.version=$version" \
    --annotation "org.opencontainers.image.revision=$revision" \
    --annotation "org.opencontainers.image.created=$created" \
    --annotation "org.opencontainers.image.source=https://github.com/apply-defaults/apply-defaults" \
    --tag "$tag" \
    . >&2

size=$("$engine" image inspect --format '{{ .Size }}' "$tag")
echo "build-image: built $tag ($size bytes)" >&2
