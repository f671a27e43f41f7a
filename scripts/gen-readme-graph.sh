#!/usr/bin/env bash
# Regenerates the README's generated blocks (the traffic picture from `apply-defaults graph` over
# base/ + functions/settings/prod, and the before/after example) from the real binary.
# Review `git diff README.md` before committing; tests/readme.rs fails when they drift.
set -euo pipefail
cd "$(dirname "$0")/.."
UPDATE_GOLDEN=1 cargo test --quiet --test tests readme::
git diff --stat -- README.md
