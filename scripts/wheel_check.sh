#!/usr/bin/env bash
# CI: build the ha-bundle wheel (not editable), install it into a fresh venv and build the demo
# bundle with it from a directory outside the source tree, then verify the .run.
#   bash scripts/wheel_check.sh            # venv gets the dependencies from the package index
#   HB_WHEEL_OFFLINE=1 bash scripts/...    # venv reuses this Python's installed dependencies
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/hb-wheel.XXXXXX")
trap 'rm -rf "$work"' EXIT

# build from a copy, so the checkout gets no build/ or egg-info droppings
mkdir "$work/src"
cp -r "$src/pyproject.toml" "$src/README.md" "$src/builder" "$src/stubs" "$work/src/"
find "$work/src" -name __pycache__ -prune -exec rm -rf {} +
python3 -m pip wheel -q --disable-pip-version-check --no-deps --no-build-isolation -w "$work/wheel" "$work/src"
wheel=$(ls "$work"/wheel/ha_bundle-*.whl)
echo "wheel-check: built $(basename "$wheel")"

if [ -n "${HB_WHEEL_OFFLINE:-}" ]; then
  python3 -m venv --system-site-packages "$work/venv"
  "$work/venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps "$wheel"
else
  python3 -m venv "$work/venv"
  "$work/venv/bin/python" -m pip install -q --disable-pip-version-check "$wheel"
fi

# run from outside the source tree: nothing may come from the checkout
mkdir "$work/elsewhere"
cd "$work/elsewhere"
"$work/venv/bin/python" - "$work/venv" <<'PY'
import sys, builder, builder.resources as r
venv = sys.argv[1]
assert builder.__file__.startswith(venv), f"builder imported from {builder.__file__}, not the venv"
assert str(r.stubs_dir()).startswith(venv), f"stubs read from {r.stubs_dir()}, not the wheel"
PY
"$work/venv/bin/ha-bundle" build "$src/manifests/demo.toml" --out "$work/elsewhere/dist" --cache "$work/cache"
"$work/venv/bin/ha-bundle" verify "$work/elsewhere/dist/ha-installer-demo.run"
sh "$work/elsewhere/dist/ha-installer-demo.run" --list | grep -q 'onsite/cli.py'
echo "wheel-check: OK (the wheel built a working dist/ha-installer-demo.run outside the source tree)"
