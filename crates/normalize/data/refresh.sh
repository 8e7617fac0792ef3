#!/usr/bin/env bash
# Copies the shared reference data into this crate. Usage: crates/normalize/data/refresh.sh [SHARED_DIR]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
shared="${1:-$here/../../../../shared/data}"
cp "$shared/nicknames/names.csv" "$here/nicknames.csv"
cp "$shared/nicknames/LICENSE" "$here/nicknames.LICENSE"
for f in street_suffixes unit_designators directionals states; do
  cp "$shared/usps-pub28/$f.tsv" "$here/$f.tsv"
done
cp "$shared/usps-pub28/SOURCE.md" "$here/usps-pub28.SOURCE.md"
echo "refreshed from $shared"
