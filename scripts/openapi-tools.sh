#!/usr/bin/env bash
# Install the OpenAPI tools the tests run on openmomo's documents (.ci/openapi-tools.txt) into a
# virtual environment, and print the line that points the tests at it. The environment is kept
# between runs and rebuilt when the pinned versions change.
#
#   scripts/openapi-tools.sh            # ~/.cache/openmomo/openapi-tools
#   MOMO_OPENAPI_VENV=dir scripts/openapi-tools.sh
set -euo pipefail
cd "$(dirname "$0")/.."

requirements=.ci/openapi-tools.txt
venv=${MOMO_OPENAPI_VENV:-$HOME/.cache/openmomo/openapi-tools}

if ! cmp -s "$requirements" "$venv/requirements.txt" 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$venv/requirements.txt"
fi
"$venv/bin/openapi-spec-validator" --version >/dev/null 2>&1 || "$venv/bin/openapi-spec-validator" --help >/dev/null
"$venv/bin/schemathesis" --version >&2
echo "export MOMO_OPENAPI_TOOLS=$venv/bin"
