#!/usr/bin/env bash
# Rebuilds internal/apidocs/dist, the API reference page that the binary
# embeds and serves at /docs, from web/apidocs: npm ci installs the exact
# swagger-ui-dist of package-lock.json (no install scripts), then Swagger
# UI's bundle, stylesheet and licences are copied beside the page's own
# index.html, init.js and jifen.css. Nothing is transformed, so the same
# lockfile always gives the same files; CI runs this and fails if
# internal/apidocs/dist changed.
set -euo pipefail
cd "$(dirname "$0")/.."

src=web/apidocs
out=internal/apidocs/dist
(cd "$src" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)

pkg="$src/node_modules/swagger-ui-dist"
rm -rf "$out"
mkdir -p "$out"
cp "$src/index.html" "$src/init.js" "$src/jifen.css" "$out/"
cp "$pkg/swagger-ui-bundle.js" "$pkg/swagger-ui.css" "$out/"
# Swagger UI is Apache-2.0: its licence and NOTICE go with the copy, and so
# do the licences of what its bundle includes.
cp "$pkg/LICENSE" "$out/swagger-ui.LICENSE.txt"
cp "$pkg/NOTICE" "$out/swagger-ui.NOTICE.txt"
cp "$pkg/swagger-ui-bundle.js.LICENSE.txt" "$out/"
echo "build-apidocs: $out from swagger-ui-dist $(node -p "require('./$pkg/package.json').version")"
