#!/usr/bin/env bash
# The test command. MovieLens-100k (used by the ranking evaluation test) may
# not be redistributed, so it is fetched here, once, from the PyPI wheel of
# RecBole 1.2.1 into the target folder, and handed to the tests through
# HERALD_ML100K_DIR. PostgreSQL tests run too when HERALD_TEST_DATABASE_URL
# is set (.ci/run starts a server and sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${CARGO_TARGET_DIR:-target}/ml-100k"
if [ ! -f "$dir/ml-100k.inter" ]; then
  tmp=$(mktemp -d)
  python3 -m pip download --no-deps --quiet recbole==1.2.1 -d "$tmp"
  python3 - "$tmp" "$dir" <<'PY'
import glob, os, sys, zipfile
wheel = glob.glob(os.path.join(sys.argv[1], "recbole-*.whl"))[0]
out = sys.argv[2]
os.makedirs(out, exist_ok=True)
with zipfile.ZipFile(wheel) as z:
    for ext in ("inter", "user", "item"):
        name = f"recbole/dataset_example/ml-100k/ml-100k.{ext}"
        with open(os.path.join(out, f"ml-100k.{ext}"), "wb") as f:
            f.write(z.read(name))
PY
  rm -rf "$tmp"
fi
HERALD_ML100K_DIR="$(cd "$dir" && pwd)"
export HERALD_ML100K_DIR
exec cargo test --workspace "$@"
