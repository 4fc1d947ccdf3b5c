#!/usr/bin/env bash
# Regenerate tests/fixtures/legacy-aim-3.17.4.tar.gz: a small tcbench repository written by
# aim 3.17.4 (the version tcbench pins), with no meta/index, as real tcbench users have.
# aim 3.17.4 cannot share an environment with aim 3.29 (numpy<2, SQLAlchemy<2), so it gets
# its own virtual environment. The generator is the package's own (tcsummary.example).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
venv="${LEGACY_VENV:-$here/.venv-aim317}"
out="${1:-$here/tests/fixtures/legacy-aim-3.17.4.tar.gz}"
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null || python=python3
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
  "$venv/bin/pip" install -q 'aim==3.17.4' 'numpy<2' 'SQLAlchemy<2' 'pyyaml>=6'
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Run outside any git checkout: aim 3.17.4 logs git info and crashes in a repo without commits.
(cd "$work" && PYTHONPATH="$here/src" "$venv/bin/python" -m tcsummary.example "$work/legacy-repo" \
  --runs 24 --campaigns 2 --seed 317 --imperfections --truth "$work/truth.json")
# Keep the fixture small and stable: drop RocksDB's informational logs, sort entries.
find "$work/legacy-repo/.aim" -name 'LOG*' -delete
tar -C "$work" --sort=name --owner=0 --group=0 --numeric-owner --mtime='2023-05-19 00:00Z' \
  -czf "$out" legacy-repo truth.json
echo "wrote $out ($(du -h "$out" | cut -f1))"
