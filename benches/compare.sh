#!/usr/bin/env bash
# Whole-process comparison of apply-defaults against its baselines, sizes side by side, one run.
#
#   benches/compare.sh                     sizes 10,100,1000,10000; kustomize at 10 and 100
#   SIZES=10,1000 benches/compare.sh       other sizes
#   KUSTOMIZE_SIZES=10,100,1000 ...        kustomize at 1,000 too (a container-function build of
#                                          2,000 resources took 3 minutes on a loaded 2-core VM); empty: none
#   KEEP=1 benches/compare.sh              keep the work dir (inputs, outputs, results.tsv)
#   OUT=table.md benches/compare.sh        also write the markdown table to a file
#
# Per size N (N backend Deployments, each with a Service; prod, so every workload gains
# resources/probes/security/spreading/HPA/PDB/NetworkPolicy):
#   function   apply-defaults < resource-list.yaml
#   floor      bench-tools floor: the same YAML reader parsing the same input and writing a
#              ResourceList of the function's output size, no transformation
#   kyaml      kpt fn source pkg/: Go kyaml reading the files and writing the ResourceList
#   kustomize  kubectl kustomize --enable-alpha-plugins with our container function, with an
#              identity container function (kustomize's bridge alone), with a replay container
#              function that answers with our function's output for what kustomize sends without
#              doing any work (kustomize's cost for the same output: its read-back of function
#              output is quadratic in resources, and ours has 2.5x as many as its input), with
#              the same defaults as kustomize-native patches + hand-written HPA/PDB/
#              NetworkPolicy, and with nothing
# Times are hyperfine medians; peak RSS is /usr/bin/time's maximum resident set size of one run.
# Needs: cargo, hyperfine, /usr/bin/time, python3, kpt, kubectl, podman (docker is shimmed).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
sizes=${SIZES:-10,100,1000,10000}
kustomize_sizes=${KUSTOMIZE_SIZES-10,100}
engine=${CONTAINER_ENGINE:-podman}
target_triple=x86_64-unknown-linux-gnu
function_image=localhost/apply-defaults-bench:function
identity_image=localhost/apply-defaults-bench:identity
tee_image=localhost/apply-defaults-bench:tee
replay_image=localhost/apply-defaults-bench:replay

for tool in hyperfine python3 kpt kubectl "$engine"; do
    command -v "$tool" >/dev/null || { echo "compare.sh: $tool is required" >&2; exit 2; }
done
[[ -x /usr/bin/time ]] || { echo "compare.sh: /usr/bin/time (GNU time) is required" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/apply-defaults-bench.XXXXXX")
log() { printf 'compare.sh: %s\n' "$*" >&2; }
if [[ -n ${KEEP:-} ]]; then log "keeping $work"; else trap 'rm -rf "$work"' EXIT; fi

log "building release binaries"
cargo build --release --quiet --bin apply-defaults
cargo build --release --quiet --features bench-tools --bin bench-tools
bin=$CARGO_TARGET_DIR/release/apply-defaults
tools=$CARGO_TARGET_DIR/release/bench-tools

# Container images for the kustomize runs: scratch + a passwd with `nobody` + a static binary.
# Our own tags, so the real image other tests use is never replaced by a benchmark build.
need_images=false
[[ -n $kustomize_sizes ]] && need_images=true
if $need_images; then
    log "building static binaries and the function/identity images"
    RUSTFLAGS='-C target-feature=+crt-static' \
        cargo build --release --quiet --target "$target_triple" --bin apply-defaults
    RUSTFLAGS='-C target-feature=+crt-static' \
        cargo build --release --quiet --target "$target_triple" --features bench-tools --bin bench-tools
    ctx=$work/image
    mkdir -p "$ctx"
    printf 'root:x:0:0:root:/:/sbin/nologin\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n' >"$ctx/passwd"
    printf 'root:x:0:\nnobody:x:65534:\n' >"$ctx/group"
    cp "$CARGO_TARGET_DIR/$target_triple/release/apply-defaults" "$CARGO_TARGET_DIR/$target_triple/release/bench-tools" "$ctx/"
    for which in function identity tee; do
        case $which in
            function) entry='["/apply-defaults"]'; tag=$function_image ;;
            identity) entry='["/bench-tools", "identity"]'; tag=$identity_image ;;
            tee) entry='["/bench-tools", "tee"]'; tag=$tee_image ;;
        esac
        cat >"$ctx/Containerfile.$which" <<EOF
FROM scratch
COPY passwd group /etc/
COPY apply-defaults bench-tools /
USER 65534
ENTRYPOINT $entry
EOF
        "$engine" build --quiet -f "$ctx/Containerfile.$which" -t "$tag" "$ctx" >/dev/null
    done
    # kubectl kustomize runs `docker run`; there is no Docker engine here.
    mkdir -p "$work/shim"
    printf '#!/bin/sh\nexec %s "$@"\n' "$(command -v "$engine")" >"$work/shim/docker"
    chmod +x "$work/shim/docker"
fi

results=$work/results.tsv
: >"$results"
# record NAME SIZE MEDIAN_S RSS_KB
record() { printf '%s\t%s\t%s\t%s\n' "$@" >>"$results"; }

rss_kb() { # peak RSS of one run of a shell command line, in KiB
    /usr/bin/time -f '%M' -o "$work/rss" sh -c "$1" >/dev/null 2>&1 || true
    tail -n 1 "$work/rss"
}

bench() { # bench NAME SIZE RUNS COMMAND
    local name=$1 n=$2 runs=$3 cmd=$4
    local json=$work/$name-$n.json
    local args=(--style none --export-json "$json" --runs "$runs")
    [[ $runs -gt 3 ]] && args+=(--warmup 2)
    hyperfine "${args[@]}" "$cmd" >/dev/null 2>"$work/hyperfine.err" || {
        log "$name at $n failed: $cmd"; cat "$work/hyperfine.err" >&2; record "$name" "$n" NaN NaN; return 0; }
    local median
    median=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["median"])' "$json")
    record "$name" "$n" "$median" "$(rss_kb "$cmd")"
}

runs_for() { # fewer runs for bigger inputs, so a full run stays under 10 minutes
    if (($1 <= 100)); then echo 20; elif (($1 <= 1000)); then echo 10; else echo 3; fi
}

IFS=, read -r -a size_list <<<"$sizes"
for n in "${size_list[@]}"; do
    d=$work/n$n
    "$tools" gen --workloads "$n" --out "$d" --function-image "$function_image" --identity-image "$identity_image"
    rl=$d/resource-list.yaml
    # The floor writes what the function writes: scale its items to the function's output bytes.
    "$bin" <"$rl" >"$d/out.yaml" 2>"$d/err" || { log "function failed at $n:"; head -n 20 "$d/err" >&2; exit 1; }
    in_bytes=$(stat -c %s "$rl")
    out_bytes=$(stat -c %s "$d/out.yaml")
    scale=$(python3 -c "print(round($out_bytes / $in_bytes, 4))")
    printf '%s\t%s\t%s\t%s\n' sizes "$n" "$in_bytes" "$out_bytes" >>"$results"
    runs=$(runs_for "$n")
    log "n=$n: input $in_bytes bytes, output $out_bytes bytes (floor scale $scale), $runs runs"
    bench function "$n" "$runs" "$bin < $rl > /dev/null"
    bench floor "$n" "$runs" "$tools floor --scale $scale < $rl > /dev/null"
    bench kyaml "$n" "$(( runs > 5 ? 5 : runs ))" "kpt fn source $d/pkg > /dev/null"
done

IFS=, read -r -a kz_list <<<"$kustomize_sizes"
for n in "${kz_list[@]}"; do
    [[ -z $n ]] && continue
    d=$work/n$n
    [[ -d $d ]] || "$tools" gen --workloads "$n" --out "$d" --function-image "$function_image" --identity-image "$identity_image"
    # A kustomize build with a container function takes seconds from 1,000 workloads on.
    if ((n <= 100)); then runs=10; elif ((n <= 1000)); then runs=3; else runs=1; fi
    # Fail loudly once if the function cannot run inside kustomize, rather than timing an error.
    PATH=$work/shim:$PATH kubectl kustomize --enable-alpha-plugins "$d/function" >"$d/kz-out.yaml" 2>"$d/kz-err" || {
        log "kustomize with the function failed at $n:"; head -n 20 "$d/kz-err" >&2; exit 1; }
    # What kustomize sends a function (tee echoes it to stderr), our function's answer to it, and
    # an image that replays that answer.
    for variant in tee replay; do
        if [[ $variant == tee ]]; then image=$tee_image; else image=$replay_image-$n; fi
        mkdir -p "$d/$variant"
        cp "$d/identity/kustomization.yaml" "$d/$variant/"
        sed "s|image: .*|image: $image|" "$d/identity/fn.yaml" >"$d/$variant/fn.yaml"
    done
    PATH=$work/shim:$PATH kubectl kustomize --enable-alpha-plugins "$d/tee" >/dev/null 2>"$d/kz-input.yaml"
    "$bin" <"$d/kz-input.yaml" >"$ctx/replay.yaml"
    printf 'FROM scratch\nCOPY passwd group /etc/\nCOPY bench-tools replay.yaml /\nUSER 65534\nENTRYPOINT ["/bench-tools", "replay", "/replay.yaml"]\n' \
        >"$ctx/Containerfile.replay"
    "$engine" build --quiet -f "$ctx/Containerfile.replay" -t "$replay_image-$n" "$ctx" >/dev/null
    log "kustomize n=$n: $runs runs per variant"
    for variant in function identity replay; do
        bench "kustomize-$variant" "$n" "$runs" "PATH=$work/shim:\$PATH kubectl kustomize --enable-alpha-plugins $d/$variant > /dev/null"
    done
    bench kustomize-native "$n" "$runs" "kubectl kustomize $d/native > /dev/null"
    bench kustomize-plain "$n" "$runs" "kubectl kustomize $d/plain > /dev/null"
done

machine=$(printf '%s, %s cores, %s GiB RAM, load %s' \
    "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)" "$(nproc)" \
    "$(awk '/MemTotal/ {printf "%.0f", $2/1048576}' /proc/meminfo)" "$(cut -d' ' -f1-3 /proc/loadavg)")
versions=$(printf 'rustc %s; kpt %s; %s; hyperfine %s' "$(rustc --version | cut -d' ' -f2)" \
    "$(kpt version 2>/dev/null | head -n 1)" "$(kubectl version --client 2>/dev/null | sed -n 's/Kustomize Version: /kustomize /p')" \
    "$(hyperfine --version | cut -d' ' -f2)")

python3 "$root/benches/table.py" "$results" "$machine" "$versions" "${OUT:-}"
