#!/usr/bin/env bash
# Install the torch that pyproject.toml pins into a virtual environment, CPU-only where the
# platform allows it, before the rest of the project is installed.
#
#   scripts/install-torch.sh .venv/bin/python [extra pip options, e.g. --dry-run]
#
# Why: on Linux, PyPI's torch wheel depends on the CUDA libraries (several GB), but flopcards
# only builds layers on the meta device. PyTorch publishes CPU-only wheels on its own index.
#
# TORCH_INDEX chooses where torch comes from:
#   unset     Linux x86_64/aarch64: a local wheel if pip's find-links has one, otherwise
#             https://download.pytorch.org/whl/cpu; other platforms: the default index
#             (PyPI's macOS and Windows wheels are CPU-only already)
#   a URL     that index only (a mirror of the CPU index, or a CUDA one such as
#             https://download.pytorch.org/whl/cu126 for a GPU build)
#   pypi      the indexes pip is configured with (on Linux: the CUDA build)
# An unreachable index fails within seconds with a message, never hangs.
set -euo pipefail

PYTHON=${1:?usage: install-torch.sh PYTHON [pip options]}
shift
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PIN=$(grep -oE '"torch==[^"]+"' "$ROOT/pyproject.toml" | tr -d '"')
VERSION=${PIN#torch==}
CPU_INDEX=https://download.pytorch.org/whl/cpu

installed=$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("torch"))' 2>/dev/null || true)
if [ "${installed%%+*}" = "$VERSION" ]; then
  echo "install-torch: torch $installed already installed"
  exit 0
fi

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64 | Linux-aarch64) default_index=$CPU_INDEX ;;
  *) default_index=pypi ;;
esac
INDEX=${TORCH_INDEX:-$default_index}

if [ "$INDEX" = pypi ]; then
  echo "install-torch: $PIN from the configured indexes"
  exec "$PYTHON" -m pip install "$@" "$PIN"
fi

if [ -z "${TORCH_INDEX:-}" ] &&
  "$PYTHON" -m pip install --no-index --no-deps "$@" "$PIN" >/dev/null 2>&1; then
  # pip's find-links (PIP_FIND_LINKS or pip.conf) held the wheel: no download at all.
  # --no-deps: torch's own dependencies come with the project's install that follows.
  echo "install-torch: $PIN from a local wheel (pip find-links)"
  exit 0
fi

echo "install-torch: $PIN from $INDEX"
if ! "$PYTHON" -m pip install --timeout 15 --retries 2 --index-url "$INDEX" "$@" "$PIN"; then
  cat >&2 <<EOF
install-torch: could not install $PIN from $INDEX.
  Set TORCH_INDEX to a reachable mirror of that index, put the wheel in a directory named by
  PIP_FIND_LINKS, or set TORCH_INDEX=pypi to take the default index's build (on Linux that
  one brings the CUDA libraries, several GB).
EOF
  exit 1
fi
