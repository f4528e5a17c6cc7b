#!/usr/bin/env bash
# Builds llama.cpp's own `llama-server` from the llama.cpp source that node-llama-cpp ships
# (node_modules/node-llama-cpp/llama/gitRelease.bundle), offline, once per bundle commit, with the product's own
# builder (`sovereign engine build --backend cpu`, src/core/engines/native/build.ts; see docs/engines.md).
#
#   scripts/llama-server/build.sh            build if missing, print the binary's path on stdout
#   scripts/llama-server/build.sh --print    print the path the binary has (or would have); build nothing
#
# Cache (= the builder's builds dir): ${SOVEREIGN_LLAMA_SERVER_CACHE:-<repo>/.cache/llama-server}/<bundle commit>/
# holding bin/llama-server (statically linked: one file) and build.json (the binary's sha256). A finished build is
# never rebuilt; an interrupted one is discarded; one build at a time per cache (a second caller is refused while
# the first runs). Jobs: LLAMA_SERVER_BUILD_JOBS (default: the number of CPUs). Progress goes to stderr, the path to
# stdout. The real-peer tests and the completion benchmark find the binary through SOVEREIGN_LLAMA_SERVER or this path.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BUNDLE="$ROOT/node_modules/node-llama-cpp/llama/gitRelease.bundle"
if [ ! -f "$BUNDLE" ]; then
  echo "llama-server build: $BUNDLE is missing; run npm ci first (node-llama-cpp ships the llama.cpp source there)." >&2
  exit 2
fi
TSX="$ROOT/node_modules/.bin/tsx"
if [ ! -x "$TSX" ]; then
  echo "llama-server build: $TSX is missing; run npm ci first (the builder runs from source with tsx)." >&2
  exit 2
fi
exec "$TSX" "$ROOT/scripts/llama-server/build.ts" "$@"
