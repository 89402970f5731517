#!/usr/bin/env bash
# Refresh the copy of Swagger UI that /docs serves (api/static/swagger-ui/) from the
# swagger-ui-dist npm package, so that the docs need no CDN:
#
#   scripts/vendor-swagger-ui.sh 5.35.0
#
# Copies the files the page loads plus the licence, and records the version and checksums.
set -euo pipefail

VERSION=${1:?usage: vendor-swagger-ui.sh VERSION}
DEST=$(cd "$(dirname "$0")/.." && pwd)/api/static/swagger-ui
FILES=(swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css favicon-32x32.png
  LICENSE NOTICE)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

(cd "$WORK" && npm pack --silent "swagger-ui-dist@$VERSION" >/dev/null && tar xzf ./*.tgz)
[ "$(cd "$WORK/package" && node -p 'require("./package.json").version')" = "$VERSION" ]
mkdir -p "$DEST"
for f in "${FILES[@]}"; do cp "$WORK/package/$f" "$DEST/$f"; done
{
  echo "swagger-ui-dist $VERSION (npm), Apache-2.0: see LICENSE and NOTICE."
  echo "Copied unchanged by scripts/vendor-swagger-ui.sh; sha256 of each file:"
  (cd "$DEST" && sha256sum "${FILES[@]}")
} >"$DEST/VERSION.txt"
echo "vendored swagger-ui-dist $VERSION into $DEST"
