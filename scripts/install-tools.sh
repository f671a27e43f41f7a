#!/usr/bin/env bash
# Builds the real tools the tests drive (kustomize, Helm 3 and 4, kube-apiserver + kubectl +
# etcd, kube-score, cyclonus) from their Go modules, at the versions pinned in
# scripts/tool-versions.sh, into a
# cache OUTSIDE the repo:
#
#   $APPLY_DEFAULTS_TOOLS/<tool>-<version>/bin/<exe>     (default /opt/apply-defaults-tools)
#
# A tool already built there is reused. At the end it writes $APPLY_DEFAULTS_TOOLS/tools.env
# (NAME=/abs/path lines) that tests/util.rs reads, and prints each tool's version and how long
# its install took (0 s when reused).
#
#   scripts/install-tools.sh              # all tools
#   scripts/install-tools.sh etcd helm3   # only these (names as in tools.env, lower case)
#
# Modules with replace directives in their own go.mod (k8s.io/kubernetes, etcd's server) cannot
# be `go install`ed; for those the script writes a throw-away go.mod with the replace/require
# lines they need and runs `go build`.
#
# Parallelism is modest on purpose (2 cores shared): GOFLAGS=-p=2 unless GOFLAGS is set.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tool-versions.sh
. "$here/tool-versions.sh"

TOOLS=${APPLY_DEFAULTS_TOOLS:-/opt/apply-defaults-tools}
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
export GOFLAGS=${GOFLAGS:--p=2}
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}
export CGO_ENABLED=0
mkdir -p "$TOOLS"

say() { echo "install-tools: $*" >&2; }

# install NAME VERSION EXE BUILD-FUNCTION: runs BUILD-FUNCTION with $out (a bin dir) unless
# $TOOLS/NAME-VERSION/bin/EXE exists.
declare -a summary=()
install() {
    local name=$1 version=$2 exe=$3 build=$4
    local dir=$TOOLS/$name-$version
    local t0 secs=0
    if [[ ! -x $dir/bin/$exe ]]; then
        local log=$TOOLS/$name-$version.log
        say "building $name $version (log: $log) ..."
        t0=$(date +%s)
        rm -rf "$dir.tmp"
        mkdir -p "$dir.tmp/bin"
        # In the background and waited for, so `set -e` holds inside the build function (it
        # would not in an `if` condition).
        out=$dir.tmp/bin "$build" >"$log" 2>&1 &
        if ! wait $!; then
            say "FAILED to build $name $version (tail of $log):"
            tail -30 "$log" >&2
            return 1
        fi
        rm -rf "$dir"
        mv "$dir.tmp" "$dir"
        secs=$(($(date +%s) - t0))
        echo "$secs" >"$dir/install-seconds"
    fi
    local upper=${name^^}
    upper=${upper//-/_}
    echo "${upper}=$dir/bin/$exe" >>"$new"
    summary+=("$(printf '%-16s %-9s built in %4s s (%s)' "$name" "$version" \
        "$(cat "$dir/install-seconds" 2>/dev/null || echo '?')" \
        "$([[ $secs == 0 ]] && echo reused || echo fresh)")")
}

go_install() { # module-path@version -> $out
    GOBIN=$out "$GO" install "$@"
}

# ---- kustomize: plain go install (sigs.k8s.io/kustomize/kustomize/v5 has no replace lines) ----
build_kustomize() {
    # v5.8.3's go.mod asks for Go 1.27: the go command fetches that toolchain as a module.
    GOTOOLCHAIN=$KUSTOMIZE_TOOLCHAIN go_install -ldflags "-X sigs.k8s.io/kustomize/api/provenance.version=$KUSTOMIZE_VERSION" \
        "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
}
build_kustomize_old() {
    go_install -ldflags "-X sigs.k8s.io/kustomize/api/provenance.version=$KUSTOMIZE_OLD_VERSION" \
        "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_OLD_VERSION"
}
build_kustomize_argocd() {
    go_install -ldflags "-X sigs.k8s.io/kustomize/api/provenance.version=$KUSTOMIZE_ARGOCD_VERSION" \
        "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_ARGOCD_VERSION"
}

# ---- Helm: go install; the version is stamped the way Helm's Makefile does ----
build_helm3() {
    go_install -ldflags "-X helm.sh/helm/v3/internal/version.version=$HELM3_VERSION" \
        "helm.sh/helm/v3/cmd/helm@$HELM3_VERSION"
}
build_helm4() {
    go_install -ldflags "-X helm.sh/helm/v4/internal/version.version=$HELM4_VERSION" \
        "helm.sh/helm/v4/cmd/helm@$HELM4_VERSION"
}

# cyclonus: the NetworkPolicy oracle (`cyclonus analyze` reads policy files, no cluster).
build_cyclonus() {
    go_install -ldflags "-X github.com/mattfenwick/cyclonus/pkg/cli.version=$CYCLONUS_VERSION" \
        "github.com/mattfenwick/cyclonus/cmd/cyclonus@$CYCLONUS_VERSION"
}

build_kube_score() {
    go_install -ldflags "-X main.version=$KUBE_SCORE_VERSION" \
        "github.com/zegl/kube-score/cmd/kube-score@$KUBE_SCORE_VERSION"
}

# ---- modules with replace directives: a throw-away main module ----
scratch_module() { # name -> prints a fresh dir
    local d
    d=$(mktemp -d "${TMPDIR:-/tmp}/apply-defaults-$1.XXXXXX")
    echo "$d"
}

build_etcd() {
    local d
    d=$(scratch_module etcd)
    (
        cd "$d"
        printf 'module apply-defaults-tools/etcd\n\ngo 1.26.0\n' >go.mod
        "$GO" get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
        "$GO" build -trimpath -ldflags "-s -w" -o "$out/etcd" "go.etcd.io/etcd/server/v3"
    )
    rm -rf "$d"
}

# A throw-away main module requiring k8s.io/kubernetes at $KUBERNETES_VERSION, in the current
# directory: k8s.io/kubernetes requires its staging modules as v0.0.0 and replaces them with
# ./staging/src/..., which a dependent cannot use, so each is pointed at its published twin of
# the same release (k8s.io/api etc. are tagged v0.<minor>.<patch> with each release).
kubernetes_module() {
    local v=$KUBERNETES_VERSION
    local minor=${v#v1.}
    local staging=v0.$minor
    "$GO" mod download -json "k8s.io/kubernetes@$v" >/dev/null
    local mod
    mod=$("$GO" env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$v.mod
    {
        printf 'module apply-defaults-tools/kubernetes\n\ngo 1.26.0\n\n'
        printf 'require k8s.io/kubernetes %s\n\nreplace (\n' "$v"
        # (The samples it only replaces are not published and not needed.)
        awk '/=> \.\/staging\//{print $1}' "$mod" | while read -r m; do
            grep -qE "^[[:space:]]$m v0\.0\.0" "$mod" &&
                printf '\t%s => %s %s\n' "$m" "$m" "$staging"
        done
        printf ')\n'
    } >go.mod
}

# build_kubernetes_cmd NAME: k8s.io/kubernetes/cmd/NAME -> $out/NAME, version-stamped the way
# the release build does (hack/lib/version.sh). -s -w: no symbol table or DWARF, which the
# tests never use; it shortens the link of these large binaries.
build_kubernetes_cmd() {
    local name=$1 d v=$KUBERNETES_VERSION
    local minor=${v#v1.}
    d=$(scratch_module "$name")
    (
        cd "$d"
        kubernetes_module
        "$GO" get "k8s.io/kubernetes/cmd/$name@$v"
        local pkg=k8s.io/component-base/version
        local ld="-s -w -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=${minor%%.*}"
        ld+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
        # client-go keeps its own copy (its User-Agent); the release build stamps both.
        local cpkg=k8s.io/client-go/pkg/version
        ld+=" -X $cpkg.gitVersion=$v -X $cpkg.gitMajor=1 -X $cpkg.gitMinor=${minor%%.*}"
        ld+=" -X $cpkg.gitTreeState=clean -X $cpkg.buildDate=1970-01-01T00:00:00Z"
        "$GO" build -trimpath -ldflags "$ld" -o "$out/$name" "k8s.io/kubernetes/cmd/$name"
    )
    rm -rf "$d"
}
build_kube_apiserver() { build_kubernetes_cmd kube-apiserver; }
# kubectl of the server's release: the machine's kubectl (gcloud SDK, <= 1.33) is out of the
# one-minor skew kubectl supports against a 1.37 server. Built after kube-apiserver, most of
# its packages (client-go, apimachinery) come from Go's build cache.
build_kubectl() { build_kubernetes_cmd kubectl; }

# No names given: every tool (`$selected` is the script's arguments; `$#` here would be the
# function's own).
want() { [[ -z $selected ]] || [[ " $selected " == *" $1 "* ]]; }
selected="$*"
new=$TOOLS/tools.env.new.$$
: >"$new"
failed=0
# The long builds first (kube-apiserver ~ the bulk of a fresh install).
want kube-apiserver && { install kube-apiserver "$KUBERNETES_VERSION" kube-apiserver build_kube_apiserver || failed=1; }
want kubectl && { install kubectl "$KUBERNETES_VERSION" kubectl build_kubectl || failed=1; }
want etcd && { install etcd "$ETCD_VERSION" etcd build_etcd || failed=1; }
want kustomize && { install kustomize "$KUSTOMIZE_VERSION" kustomize build_kustomize || failed=1; }
want kustomize-old && { install kustomize-old "$KUSTOMIZE_OLD_VERSION" kustomize build_kustomize_old || failed=1; }
if [[ -n ${KUSTOMIZE_ARGOCD_VERSION:-} ]] && want kustomize-argocd; then
    install kustomize-argocd "$KUSTOMIZE_ARGOCD_VERSION" kustomize build_kustomize_argocd || failed=1
fi
want helm3 && { install helm3 "$HELM3_VERSION" helm build_helm3 || failed=1; }
want helm4 && { install helm4 "$HELM4_VERSION" helm build_helm4 || failed=1; }
want kube-score && { install kube-score "$KUBE_SCORE_VERSION" kube-score build_kube_score || failed=1; }
want cyclonus && { install cyclonus "$CYCLONUS_VERSION" cyclonus build_cyclonus || failed=1; }

# Merge: keep lines for tools not rebuilt in this call (locked: two installs may run at once).
exec 9>"$TOOLS/.lock"
flock 9
if [[ -f $TOOLS/tools.env ]]; then
    while IFS= read -r line; do
        grep -q "^${line%%=*}=" "$new" || echo "$line" >>"$new"
    done <"$TOOLS/tools.env"
fi
sort -o "$TOOLS/tools.env" "$new"
rm -f "$new"
flock -u 9

say "tools in $TOOLS (tools.env):"
for s in "${summary[@]}"; do echo "  $s" >&2; done
while IFS='=' read -r name path; do
    case $name in
    KUBE_APISERVER) v=$("$path" --version 2>&1) ;;
    KUBECTL) v=$("$path" version --client 2>&1 | sed -n 1p) ;;
    ETCD) v=$("$path" --version 2>&1 | sed -n 1p) ;;
    HELM*) v=$("$path" version --short 2>&1) ;;
    KUSTOMIZE*) v=$("$path" version 2>&1) ;;
    KUBE_SCORE) v=$("$path" version 2>&1 | sed -n 1p) ;;
    CYCLONUS) v=$("$path" version 2>/dev/null | sed -n 's/.*"Version": *"\([^"]*\)".*/\1/p') ;;
    *) v=? ;;
    esac
    printf '  %-18s %s\n' "$name" "$v" >&2
done <"$TOOLS/tools.env"
exit $failed
