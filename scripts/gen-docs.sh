#!/usr/bin/env bash
# Regenerates everything users read that is derived from the code:
#   docs/config-reference.md      (src/docs.rs through the gen-docs binary, feature docs-tools)
#   docs/apply-defaults.schema.json  (what `apply-defaults schema` prints)
#   examples/<case>/.expected/*   (tests/examples.rs: diff.patch, results.yaml, stderr.txt)
# The same tests fail in CI when any of these is stale. Review `git diff` before committing.
#
# Usage: scripts/gen-docs.sh [--docs | --examples]   (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:-all}
case "$what" in
  all | --docs | --examples) ;;
  *) echo "usage: $0 [--docs | --examples]" >&2; exit 2 ;;
esac

if [[ $what == all || $what == --docs ]]; then
  cargo run --quiet --features docs-tools --bin gen-docs
fi
if [[ $what == all || $what == --examples ]]; then
  UPDATE_GOLDEN=1 cargo test --quiet --test tests examples::
fi

git status --short -- docs examples || true
