#!/usr/bin/env bash
# Bundles the benchmark runner and every suite into .device/bench/ for the GPU machine, which has no
# pnpm, TypeScript or network (see ../shared/gpu/README.md and prepare-device.sh, which stages Node and
# the `webgpu` package into .device/). Run the result there with:
#   source .device/setup.sh && NQ_BENCH_SUITES_DIR=.device/bench/suites node .device/bench/cli.mjs hadamard --backend webgpu --json
set -euo pipefail
cd "$(dirname "$0")/.."
out=.device/bench
rm -rf "$out" && mkdir -p "$out/suites"
esb=(pnpm exec esbuild --bundle --platform=node --format=esm --target=node20 --conditions=source
  --external:webgpu --external:gpu.js --external:node-llama-cpp --log-level=warning
  "--banner:js=import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);")
"${esb[@]}" benchmarks/src/cli.ts --outfile="$out/cli.mjs"
for f in benchmarks/src/suites/*.ts; do
  "${esb[@]}" "$f" --outfile="$out/suites/$(basename "${f%.ts}").mjs"
done
# gpu.js and its own dependencies (acorn, gpu-mock.js) for the gpujs rows; the GPU machine only gets
# `webgpu` from prepare-device.sh. Unpack there with: tar -C /tmp/nqdev/node_modules -xJf .device/gpujs.tar.xz
gpujs_deps=$(dirname "$(readlink -f node_modules/.pnpm/node_modules/gpu.js)")
tar -C "$gpujs_deps" -chJf .device/gpujs.tar.xz gpu.js gpu-mock.js acorn
du -sh "$out" .device/gpujs.tar.xz
