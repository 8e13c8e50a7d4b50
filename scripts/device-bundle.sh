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
du -sh "$out"
