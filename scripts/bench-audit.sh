#!/usr/bin/env bash
# `cargo xtask bench audit`, with ripgrep (the baseline it is measured against) installed from
# the distribution's packages when `rg` is missing. Arguments go to the bench, e.g.
#   scripts/bench-audit.sh --files 20000 --samples 3 --keep /tmp/bench-audit
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v rg >/dev/null 2>&1; then
    echo "bench-audit: installing ripgrep (apt-get install ripgrep)" >&2
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        sudo="sudo"
    fi
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq ripgrep >/dev/null
fi

exec cargo xtask bench audit "$@"
