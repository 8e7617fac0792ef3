#!/usr/bin/env bash
# Copies the shared reference data into this crate. Usage: crates/dedup/data/refresh.sh [SHARED_DIR]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
shared="${1:-$here/../../../../shared/data}"
cp "$shared/nicknames/names.csv" "$here/nicknames.csv"
cp "$shared/nicknames/LICENSE" "$here/nicknames.LICENSE"
echo "refreshed from $shared"
