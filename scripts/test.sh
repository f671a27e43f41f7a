#!/usr/bin/env bash
# The project's test command: builds the function image (scripts/build-image.sh, skipped when the
# binary is unchanged), then runs every test. Extra arguments go to `cargo test`.
#
#   scripts/test.sh                    everything
#   scripts/test.sh --test tests runners::   one module
#
# Under CI=true a missing tool fails the test that needs it instead of skipping it. At the end it
# prints which runner paths ran (kustomize container, kpt exec/image, Helm stream, ...).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

scripts/build-image.sh
APPLY_DEFAULTS_IMAGE=$(scripts/build-image.sh --print-tag)
export APPLY_DEFAULTS_IMAGE

# Runner tests append one line per runner path they exercised (or skipped) here.
runner_log=$(mktemp)
log=$(mktemp)
trap 'rm -f "$runner_log" "$log"' EXIT
export APPLY_DEFAULTS_RUNNER_LOG=$runner_log

status=0
cargo test --locked "$@" 2>&1 | tee "$log" || status=$?

echo
echo "Runner paths (image $APPLY_DEFAULTS_IMAGE):"
if [[ -s $runner_log ]]; then
    sort "$runner_log" | sed 's/^/  /'
else
    echo "  none ran (filtered out?)"
fi

# One closing line over all test binaries (cargo prints one `test result:` per binary).
awk '/^test result:/ {
        for (i = 1; i <= NF; i++) {
            if ($(i) ~ /^passed/) p += $(i - 1)
            if ($(i) ~ /^failed/) f += $(i - 1)
            if ($(i) ~ /^ignored/) s += $(i - 1)
        }
     }
     END { printf "\ntotal: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit "$status"
