/**
 * GPU check (scripts/gpu-check.sh): what GPU this machine has, what the advice is, and where the generated tiny
 * GGUF model really runs: the backend llama.cpp loaded and the layers it offloaded, plus an exact greedy
 * completion on it (the same bytes as on the CPU). Uses only what is installed in node_modules: nothing is
 * downloaded or compiled (getLlama with build "never" and skipDownload, as the engine always does).
 *
 * Exit 0: the model loaded and completed exactly; on a machine whose GPU build is installed ("ready"), also
 * on that GPU with layers offloaded. Exit 1 otherwise.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEngine } from '../src/core/engines';
import { describeBackend, detectGpu, gpuAdvice } from '../src/core/engines/gpu';
import { writeTinyLlama } from '../test/fixtures/gguf/tiny-llama';

async function main(): Promise<number> {
  const json = process.argv.includes('--json');
  const repo = join(__dirname, '..');
  const detection = await detectGpu({ modulesFrom: repo });
  const advice = gpuAdvice(detection);
  const dir = await mkdtemp(join(tmpdir(), 'sovereign-gpu-check-'));
  try {
    const info = await writeTinyLlama(join(dir, 'tiny.gguf'), { f16: true });
    const started = performance.now();
    const opened = await openEngine(info.path, { gate: null, load: { threads: 1, gpu: 'auto', contextSize: 512 } });
    const loadMs = performance.now() - started;
    try {
      const d = opened.description;
      const result = await opened.engine.complete({ prompt: 'Hello', maxTokens: 16, temperature: 0 });
      const exact = result.text === info.expectedCompletion('Hello', 16);
      const onGpu = d.gpu !== false && d.gpu !== undefined && (d.gpuLayers ?? 0) > 0;
      const ok = exact && (advice.status !== 'ready' || onGpu);
      const report = {
        platform: `${detection.platform}-${detection.arch}`,
        nodeLlamaCpp: detection.nodeLlamaCpp,
        detected: { nvidia: detection.nvidia, vulkan: detection.vulkan, metal: detection.metal.found },
        installed: detection.installed,
        advice: { status: advice.status, backend: advice.backend, missing: advice.missing, command: advice.command },
        model: { path: info.path, backend: d.gpu || 'cpu', gpuLayers: d.gpuLayers ?? 0, totalLayers: d.totalLayers, llamaCppBuild: d.versions['llama.cpp-build'], loadMs: Math.round(loadMs) },
        completion: { exact, generateTokensPerSecond: result.generateMs > 0 ? Math.round((result.generatedTokens - 1) / (result.generateMs / 1000)) : undefined },
        ok,
      };
      if (json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else {
        const lines = [
          `platform        ${report.platform}, node-llama-cpp ${detection.nodeLlamaCpp ?? 'missing'}`,
          `nvidia          ${detection.nvidia.found ? `yes (${[...detection.nvidia.names, ...detection.nvidia.evidence].join(', ')})` : 'no'}`,
          `vulkan          ${detection.vulkan.found ? `yes (${[...detection.vulkan.names, ...detection.vulkan.evidence].join(', ') || 'via NVIDIA'})` : 'no'}`,
          `metal           ${detection.metal.found ? 'yes' : 'no'}`,
          `installed       ${detection.installed.join(', ') || 'no llama.cpp build'}`,
          `advice          ${advice.status}: ${advice.summary}`,
          ...(advice.command ? [`install with    ${advice.command}`] : []),
          `model           ${describeBackend(d)} (llama.cpp build ${d.versions['llama.cpp-build'] ?? '?'}, loaded in ${Math.round(loadMs)} ms)`,
          `completion      ${exact ? 'exact (greedy, 16 tokens)' : `NOT the expected text: ${JSON.stringify(result.text)}`}`,
          `result          ${ok ? 'OK' : advice.status === 'ready' && !onGpu ? 'FAIL: a GPU build is installed but the model did not load on it' : 'FAIL'}`,
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      }
      return ok ? 0 : 1;
    } finally {
      await opened.engine.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`gpu-check: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
