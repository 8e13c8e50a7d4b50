#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu machine for nq: the Mesa EGL/GLES drivers that give WebGPU a CPU
# adapter (see ../shared/gpu/README.md), pnpm (through corepack, or npm as a fallback), the
# workspace's dependencies from the lockfile, and a build of every package. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=(libegl1 libgles2 libegl-mesa0 libgl1-mesa-dri)
missing=()
for p in "${need_apt[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  if command -v apt-get >/dev/null; then
    sudo=""; [[ $(id -u) -eq 0 ]] || sudo="sudo"
    echo "setup: installing ${missing[*]} (CPU WebGPU adapter)"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: warning: no apt-get; the WebGPU CPU adapter needs ${missing[*]} (or a real GPU)" >&2
  fi
fi

# Corepack on Node 20 may carry outdated registry keys; the version is pinned in package.json anyway.
export COREPACK_ENABLE_DOWNLOAD_PROMPT=0 COREPACK_INTEGRITY_KEYS=0
want=$(node -p "require('./package.json').packageManager.split('@')[1]")
if ! pnpm --version 2>/dev/null | grep -qx "$want"; then
  corepack enable 2>/dev/null && pnpm --version >/dev/null 2>&1 || npm install -g "pnpm@$want" >/dev/null
fi
echo "setup: pnpm $(pnpm --version), node $(node --version)"
pnpm install --frozen-lockfile
pnpm build
