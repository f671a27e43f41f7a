#!/usr/bin/env bash
# Measures the function image: its size, and the cold start of one function call the way
# kustomize makes it (`docker run` with kustomize's flags, here through podman) against the bare
# static binary and against an empty scratch container (the runtime's own floor).
#
#   benches/image.sh [RUNS]     (default 10; builds the image first via scripts/build-image.sh)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
runs=${1:-10}

scripts/build-image.sh
tag=$(scripts/build-image.sh --print-tag)
binary=${CARGO_TARGET_DIR:-$root/target}/x86_64-unknown-linux-gnu/release/apply-defaults

input=$(mktemp)
trap 'rm -f "$input"' EXIT
cat > "$input" <<'EOF'
apiVersion: config.kubernetes.io/v1
kind: ResourceList
functionConfig:
  apiVersion: v1
  kind: ConfigMap
  metadata: {name: function-input}
  data: {environment: prod}
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: api, labels: {app.kubernetes.io/name: api}}
  spec:
    selector: {matchLabels: {app.kubernetes.io/name: api}}
    template:
      metadata: {labels: {app.kubernetes.io/name: api}}
      spec:
        containers:
        - name: app
          image: ghcr.io/example/api:1.4.2
          ports: [{name: http, containerPort: 8080}]
EOF

# Median wall time in ms of RUNS runs of a command reading $input.
median_ms() {
    local times=() start end
    for _ in $(seq "$runs"); do
        start=$(date +%s%N)
        "$@" < "$input" > /dev/null 2>&1 || { echo "benchmark command failed: $*" >&2; exit 1; }
        end=$(date +%s%N)
        times+=($(( (end - start) / 1000000 )))
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

kustomize_flags=(run --rm -i -a STDIN -a STDOUT -a STDERR --network none --user nobody
    --security-opt=no-new-privileges -e LOG_TO_STDERR=true -e STRUCTURED_RESULTS=true)

image_bytes=$(podman image inspect --format '{{ .Size }}' "$tag")
binary_bytes=$(stat -c %s "$binary")
bare=$(median_ms "$binary")
container=$(median_ms podman "${kustomize_flags[@]}" "$tag")
# The same runtime path with the smallest possible payload: what podman itself costs.
floor=$(median_ms podman "${kustomize_flags[@]}" --entrypoint /usr/local/bin/apply-defaults "$tag" --version)

cat <<EOF
image            $tag
image size       $image_bytes bytes ($(( image_bytes / 1024 )) KiB)
static binary    $binary_bytes bytes
runs             $runs (median wall time)
bare binary      ${bare} ms  (one ResourceList, function mode)
container        ${container} ms  (podman run with kustomize's flags)
container floor  ${floor} ms  (same flags, --version: podman's own start/stop)
EOF
