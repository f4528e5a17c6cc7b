/**
 * Loading a GGUF model in the engine host: which llama.cpp runs it (a native build of this machine, or
 * node-llama-cpp's prebuilt binary), always from the bytes the parent validated (pinned.ts).
 */
import { inspectGguf } from '../../formats/gguf/analyze';
import { UsageError } from '../../util/errors';
import { GgufEngine } from '../gguf/gguf-engine';
import { existsSync } from 'node:fs';
import { bundlePath, findNativeBuild, type NativeBuild } from '../native/builds';
import { LlamaServerEngine } from '../native/llama-server-engine';
import { pinModelFile } from '../pinned';
import type { EngineLoadOptions, LlamaCppChoice } from '../types';

/** What the engine host needs of a GGUF engine, whichever llama.cpp runs it. */
export type TextEngine = Pick<GgufEngine, 'description' | 'complete' | 'infill' | 'chat' | 'embed' | 'tokenCount' | 'dispose'>;

function choiceOf(options: EngineLoadOptions): LlamaCppChoice {
  const value = options.llamaCpp ?? (process.env.SOVEREIGN_LLAMA_CPP as LlamaCppChoice | undefined) ?? 'auto';
  if (value !== 'auto' && value !== 'native' && value !== 'prebuilt') {
    throw new UsageError(`llama.cpp choice '${String(value)}' is not one of auto, native, prebuilt`, 'use --llama-cpp auto|native|prebuilt (or SOVEREIGN_LLAMA_CPP)');
  }
  return value;
}

/** The native build to use, or undefined for node-llama-cpp's prebuilt binary. */
async function chooseNative(options: EngineLoadOptions): Promise<NativeBuild | undefined> {
  const choice = choiceOf(options);
  if (choice === 'prebuilt') return undefined;
  // Embeddings stay on node-llama-cpp: llama-server serves either embeddings or generation, not both.
  if (choice === 'auto' && options.embeddings) return undefined;
  // Without the llama.cpp source bundle (the deployment image ships none) no native build can be matched to the
  // bundled commit: the prebuilt engine runs, and 'native' says why it cannot.
  if (!existsSync(bundlePath())) {
    if (choice === 'native') throw new UsageError(`the llama.cpp source bundle is not installed here (${bundlePath()}), so no native build can be matched to it`, 'use --llama-cpp prebuilt (or auto)');
    return undefined;
  }
  // A tampered build is refused even under 'auto': it is never silently skipped.
  const build = await findNativeBuild({ buildsDir: options.llamaCppBuilds, gpu: options.gpu !== false });
  if (!build && choice === 'native') {
    throw new UsageError('no native llama.cpp build exists for the bundled llama.cpp', 'run `sovereign engine build` (or "Sovereign: Build llama.cpp for This Machine"), or use --llama-cpp prebuilt');
  }
  if (build && options.embeddings) throw new UsageError('embeddings need the prebuilt llama.cpp engine', 'use --llama-cpp prebuilt (or auto) for a model with embeddings');
  return build;
}

/**
 * Hashes the file through an open descriptor (refusing other bytes), hands that descriptor to the chosen
 * llama.cpp, and checks after the load that the file did not change meanwhile.
 */
export async function loadGguf(path: string, sha256: string, threads: number, options: EngineLoadOptions, fimFamily: string | undefined, onNativeCrash: (code: number | null, signal: NodeJS.Signals | null) => void): Promise<TextEngine> {
  const native = await chooseNative(options);
  const pinned = await pinModelFile(path, sha256);
  try {
    let engine: TextEngine;
    if (native) {
      const { header, facts } = await inspectGguf(pinned.loadPath);
      const fd = /^\/proc\/self\/fd\/(\d+)$/.exec(pinned.loadPath);
      const llama = await LlamaServerEngine.load({
        build: native,
        model: fd ? { fd: Number(fd[1]) } : { path },
        shownPath: path,
        header,
        facts,
        threads,
        options,
        fimFamily,
      });
      llama.onCrash(onNativeCrash);
      engine = llama;
    } else {
      engine = await GgufEngine.load(pinned.loadPath, threads, options, fimFamily, path);
    }
    await pinned.verifyUnchanged(pinned.loadPath === path).catch(async (err: unknown) => {
      await engine.dispose();
      throw err;
    });
    return engine;
  } finally {
    await pinned.close();
  }
}
