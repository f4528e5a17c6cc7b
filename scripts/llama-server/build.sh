#!/usr/bin/env bash
# Builds llama.cpp's own `llama-server` from the llama.cpp source that node-llama-cpp ships
# (node_modules/node-llama-cpp/llama/gitRelease.bundle), offline, once per bundle commit.
#
#   scripts/llama-server/build.sh            build if missing, print the binary's path on stdout
#   scripts/llama-server/build.sh --print    print the path the binary has (or would have); build nothing
#
# Cache: ${SOVEREIGN_LLAMA_SERVER_CACHE:-<repo>/.cache/llama-server}/<bundle commit>/bin/llama-server
# (statically linked: one file). A finished build is never rebuilt; an interrupted one is discarded.
# Jobs: LLAMA_SERVER_BUILD_JOBS (default: the number of CPUs). Progress goes to stderr, the path to stdout.
# The real-peer tests and the completion benchmark find the binary through SOVEREIGN_LLAMA_SERVER or this path.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BUNDLE="$ROOT/node_modules/node-llama-cpp/llama/gitRelease.bundle"
if [ ! -f "$BUNDLE" ]; then
  echo "llama-server build: $BUNDLE is missing; run npm ci first (node-llama-cpp ships the llama.cpp source there)." >&2
  exit 2
fi
COMMIT="$(git bundle list-heads "$BUNDLE" | awk '$2 == "HEAD" { print $1; exit }')"
if [ -z "$COMMIT" ]; then
  echo "llama-server build: cannot read the commit of $BUNDLE (git bundle list-heads)." >&2
  exit 2
fi
CACHE="${SOVEREIGN_LLAMA_SERVER_CACHE:-$ROOT/.cache/llama-server}"
DEST="$CACHE/$COMMIT"
BIN="$DEST/bin/llama-server"
if [ "${1:-}" = "--print" ]; then
  echo "$BIN"
  exit 0
fi
if [ -x "$BIN" ]; then
  echo "$BIN"
  exit 0
fi
for tool in cmake c++ make; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "llama-server build: '$tool' is not installed; on Debian: apt-get install -y cmake build-essential" >&2
    exit 2
  fi
done
mkdir -p "$CACHE"
# One build at a time per cache (a second caller waits, then finds the finished binary).
exec 9>"$CACHE/.lock"
flock 9
if [ -x "$BIN" ]; then
  echo "$BIN"
  exit 0
fi
WORK="$CACHE/.work-$COMMIT"
rm -rf "$WORK"
mkdir -p "$WORK"
echo "llama-server build: cloning $BUNDLE ($COMMIT) into $WORK/src" >&2
git clone --quiet "$BUNDLE" "$WORK/src" >&2
git -C "$WORK/src" -c advice.detachedHead=false checkout --quiet "$COMMIT" >&2
JOBS="${LLAMA_SERVER_BUILD_JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)}"
echo "llama-server build: cmake configure (Release, GGML_NATIVE=ON, static, no curl)" >&2
cmake -S "$WORK/src" -B "$WORK/build" -DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF \
  -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON \
  -DBUILD_SHARED_LIBS=OFF -DCMAKE_BUILD_TYPE=Release >"$WORK/configure.log" 2>&1 || {
  tail -n 40 "$WORK/configure.log" >&2
  echo "llama-server build: cmake configure failed (log: $WORK/configure.log)" >&2
  exit 1
}
echo "llama-server build: compiling llama-server with $JOBS jobs (about 10 minutes on 2 cores)" >&2
cmake --build "$WORK/build" --target llama-server -j "$JOBS" >&2 || {
  echo "llama-server build: compile failed (work dir kept: $WORK)" >&2
  exit 1
}
mkdir -p "$WORK/out/bin"
cp -a "$WORK/build/bin/." "$WORK/out/bin/"
"$WORK/out/bin/llama-server" --version >&2 || {
  echo "llama-server build: the built binary does not run (work dir kept: $WORK)" >&2
  exit 1
}
echo "$COMMIT" >"$WORK/out/COMMIT"
rm -rf "$DEST"
mv "$WORK/out" "$DEST"
rm -rf "$WORK"
echo "$BIN"
