#!/usr/bin/env bash
# Build a release bundle: one folder with the wheels of the toolkit, its sector plugins and
# every run-time dependency at the tested versions (constraints.txt), the changelog and the
# nginx error page. A server installs from it with no index at all (docs/deployment.md).
# Build it with the same Python as the servers run (the same Debian release): the wheels of
# dependencies are chosen for that Python.
#   bash scripts/release.sh                 -> dist/survey-toolkit-VERSION/
#   bash scripts/release.sh /some/folder
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(python3 -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
out=${1:-dist/survey-toolkit-$version}
mkdir -p "$out"
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
python3 -m venv "$build/venv"
# the build tools once, then every build in this venv (no isolated build environment each)
"$build/venv/bin/pip" install -q "setuptools>=68" wheel
"$build/venv/bin/pip" wheel -q --no-build-isolation -c constraints.txt -w "$out" ".[redis]" plugins/schools plugins/hospitals \
  plugins/villages plugins/enterprises plugins/government
cp constraints.txt CHANGELOG.md deploy/nginx/survey-unavailable.html "$out/"
echo "$out: survey-toolkit $version, $(ls "$out"/*.whl | wc -l) wheels"
