#!/usr/bin/env bash
# Rebuilds every web page the binary embeds, from npm's exact packages
# (npm ci: package-lock.json, no install scripts):
#   web/apidocs -> internal/apidocs/dist      (/docs, scripts/build-apidocs.sh)
#   web/console -> internal/webui/dist/console (/console/, Vite)
#   web/member  -> internal/webui/dist/m       (/m/, Vite)
# The builds are committed so that go run and go test need no Node; CI runs
# this and fails when a committed build differs from what it makes.
# `make web` runs it.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/build-apidocs.sh
for app in console member; do
	src=web/$app
	(cd "$src" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && npx --no-install vite build --logLevel warn)
	echo "build-web: $src built"
done
