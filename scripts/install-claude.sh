#!/usr/bin/env bash
# Installs the pinned Claude Code CLI into .tools/claude (ignored by git) for the
# integration suite. Without npm it says so in one line and leaves the unit
# tests to run alone; with npm, a failed install is an error.
set -euo pipefail
version="${CLAUDE_CLI_VERSION:-2.1.197}"
root="$(cd "$(dirname "$0")/.." && pwd)"
prefix="$root/.tools/claude"
bin="$prefix/node_modules/.bin/claude"

if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "^$version "; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "install-claude: npm not found; the integration suite will be skipped (install Node.js and npm to run it)" >&2
  exit 0
fi
echo "install-claude: installing @anthropic-ai/claude-code@$version into $prefix" >&2
mkdir -p "$prefix"
npm install --silent --no-audit --no-fund --prefix "$prefix" "@anthropic-ai/claude-code@$version" >&2
"$bin" --version >&2
