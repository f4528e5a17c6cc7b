#!/usr/bin/env bash
# GPU check for a machine with a GPU (and for this one): prints what GPU is detected, the set-up advice, and the
# llama.cpp backend and layers offloaded for the generated tiny GGUF model, then completes with it exactly.
# Installs nothing and downloads nothing: only the llama.cpp builds already in node_modules are used (to try
# CUDA, install @node-llama-cpp/linux-x64-cuda(-ext) at node-llama-cpp's version there first; see
# docs/engines.md). Needs `npm ci` done (tsx runs the TypeScript sources; no build needed).
#   scripts/gpu-check.sh [--json]     exit 0: loaded and exact (and on the GPU when its build is installed)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ ! -x node_modules/.bin/tsx || ! -d node_modules/node-llama-cpp ]]; then
  echo "gpu-check: node_modules is missing tsx or node-llama-cpp: run \`npm ci\` first (offline-capable with a filled npm cache)." >&2
  exit 2
fi
# Belt and braces: node-llama-cpp must never download or build llama.cpp here.
export NODE_LLAMA_CPP_SKIP_DOWNLOAD=true
exec node_modules/.bin/tsx scripts/gpu-check.ts "$@"
