#!/usr/bin/env bash
# A real Kubernetes control plane for the tests: setup | start [--with-controllers] | stop DIR | status.
# The work is in scripts/realkube.py (read its docstring); this picks the project's venv when there
# is one, because `start` needs PyYAML to install the CRDs.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${REALKUBE_PYTHON:-}"
if [[ -z "$python" ]]; then
  if [[ -x "$here/../.venv/bin/python" ]]; then python="$here/../.venv/bin/python"; else python=python3; fi
fi
exec "$python" "$here/realkube.py" "$@"
