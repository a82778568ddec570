#!/usr/bin/env bash
# Installs the pinned official TypeScript Agent SDK into .tools/tsdk (ignored
# by git), the peer of the warm-start benchmarks (pkg/agent/warm_bench_test.go).
# For `make bench` only: the tests never need it. Without npm it says so in one
# line and the peer's benchmarks skip; with npm, a failed install is an error.
set -euo pipefail
version="${TSDK_VERSION:-0.3.328}"
pkg="@anthropic-ai/claude-agent-sdk"
root="$(cd "$(dirname "$0")/.." && pwd)"
prefix="$root/.tools/tsdk"
manifest="$prefix/node_modules/$pkg/package.json"

if [ -f "$manifest" ] && grep -q "\"version\": *\"$version\"" "$manifest"; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "install-tsdk: npm not found; the TypeScript SDK benchmarks will be skipped (install Node.js and npm to run them)" >&2
  exit 0
fi
echo "install-tsdk: installing $pkg@$version into $prefix" >&2
mkdir -p "$prefix"
# --omit=optional: the SDK's optional dependencies include a bundled CLI
# binary; the benchmark runs the pinned CLI of `make cli` instead.
npm install --silent --no-audit --no-fund --omit=optional --prefix "$prefix" "$pkg@$version" >&2
grep -q "\"version\": *\"$version\"" "$manifest"
