# Every pinned tool version, in one place. Sourced by scripts/install-tools.sh (which builds
# them) and read by the tests through tools.env. Versions were picked with
# `go list -m -versions MODULE`: the newest stable release unless the line says otherwise.
# shellcheck shell=bash disable=SC2034

KUSTOMIZE_VERSION=v5.8.2          # newest v5 buildable here: v5.8.3 needs k8s.io/kube-openapi@v0.0.0-20261001230523, which the module proxy refuses (403)
KUSTOMIZE_TOOLCHAIN=go1.27.3      # v5.8.3 needs Go >= 1.27; the go command fetches it as a module
KUSTOMIZE_OLD_VERSION=v5.0.0      # oldest v5.0.x, the floor the README promises
KUSTOMIZE_ARGOCD_VERSION=v5.8.1   # what Argo CD bundles (its hack/tool-versions.sh: KUSTOMIZE_VERSION=5.8.1)
HELM3_VERSION=v3.22.0             # helm.sh/helm/v3, newest
HELM4_VERSION=v4.3.2              # helm.sh/helm/v4, newest
KUBERNETES_VERSION=v1.37.2        # k8s.io/kubernetes (kube-apiserver), newest stable
ETCD_VERSION=v3.7.3               # go.etcd.io/etcd/server/v3, newest stable
KUBE_SCORE_VERSION=v1.20.0        # github.com/zegl/kube-score, the only version served
CYCLONUS_VERSION=v0.5.6           # github.com/mattfenwick/cyclonus, the NetworkPolicy analyzer; the only version served (np-guard netpol-analyzer: 403)
