#!/bin/sh
# Runs Python with an interpreter that can import torch: $PYTHON if set, else python3 if it imports torch,
# else /usr/bin/python3 (Debian's python3-torch). Usage: training/python.sh train.py ... | -m pytest -q tests
if [ -n "${PYTHON:-}" ]; then exec "$PYTHON" "$@"; fi
if command -v python3 >/dev/null 2>&1 && python3 -c "import torch" >/dev/null 2>&1; then exec python3 "$@"; fi
exec /usr/bin/python3 "$@"
