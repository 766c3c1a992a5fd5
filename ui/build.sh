#!/usr/bin/env bash
# Rebuild the chart MCP App into the Python package: src/square_bi/server/ui/chart_app.html.
# Needs Node 20+ and npm (only here: the Python package and its tests never run Node).
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npx tsc --noEmit
npx vite build --logLevel error
mkdir -p ../src/square_bi/server/ui
cp dist/index.html ../src/square_bi/server/ui/chart_app.html
echo "built src/square_bi/server/ui/chart_app.html ($(wc -c < dist/index.html) bytes, sources $(node source-hash.mjs))"
