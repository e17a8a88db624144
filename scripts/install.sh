#!/usr/bin/env bash
# Install the toolkit (with the redis extra, so SURVEY_RATELIMIT_STORAGE_URI=redis://… works)
# and the sector plugins (schools, hospitals, villages, enterprises, government offices,
# communities) into the current Python 3.11+ environment, at the tested versions of
# constraints.txt, and the Debian packages they use.
#   bash scripts/install.sh          what the demo and production need (a CJK font for PDFs,
#                                    the PostgreSQL client tools for `survey backup`)
#   bash scripts/install.sh --test   also what the test suite needs: PostgreSQL, Chromium,
#                                    zbar-tools, poppler-utils, nginx, Redis, the test Python
#                                    packages, and axe-core from npm (tests/a11y)
# A production server installs into its own venv instead: docs/deployment.md, step 1.
set -euo pipefail
cd "$(dirname "$0")/.."

debs=(fonts-wqy-microhei postgresql-client)
extras="[redis]"
if [[ "${1:-}" == "--test" ]]; then
  debs+=(postgresql chromium zbar-tools poppler-utils wrk nginx redis-server openssl curl)
  command -v npm >/dev/null || debs+=(npm)  # Debian's npm, unless Node.js already brings its own
  extras="[redis,test]"
fi

missing=()
for pkg in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  echo "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python3 -m pip install -q -c constraints.txt -e ".${extras}" \
  -e plugins/schools -e plugins/hospitals -e plugins/villages -e plugins/enterprises -e plugins/government \
  -e plugins/communities

if [[ "${1:-}" == "--test" ]]; then
  # the version pinned in tests/a11y/package-lock.json, into tests/a11y/node_modules
  npm ci --prefix tests/a11y --no-audit --no-fund --loglevel=error
fi
