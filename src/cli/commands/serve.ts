import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { SERVE_LIMIT_DEFAULTS } from '../../core/serve/server';
import { startServe } from '../../core/serve/start';
import { liveDriftFromFile, promptDriftFromFile } from '../../core/serve/drift-route';
import { policyGate } from '../../core/engines/validate';
import { describeBackend } from '../../core/engines/gpu';
import { allowedEndpoints, loadPolicy, loadPolicyFile } from '../../core/policy/load';
import { parseModelRef } from '../../core/registry/manifest';
import { ioError, UsageError } from '../../core/util/errors';
import { info } from '../output';
import { choiceOption, collect, intOption, secondsOption } from '../options';
import type { LlamaCppChoice } from '../../core/engines/types';
import { workspaceOrUndefined } from '../workspace';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export function register(program: Command): void {
  program
    .command('serve')
    .description('serve a GGUF or ONNX model over HTTP: OpenAI-compatible /v1/completions, /v1/chat/completions, /v1/models, llama-server /infill, /v1/predict, /health, /metrics')
    .requiredOption('-m, --model <file-or-manifest>', 'a .gguf or .onnx file, or a registry manifest (.sovereign/models/NAME/VERSION.yaml)')
    .option('--host <address>', 'address to bind (loopback by default)', '127.0.0.1')
    .option('--port <n>', 'port; 0 picks a free one', intOption('--port', 0, 65535), 8080)
    .option('--token-file <file>', 'require Authorization: Bearer TOKEN, with TOKEN the first line of FILE (or set SOVEREIGN_SERVE_TOKEN)')
    .option('--token <token>', 'the same with the token on the command line (visible to every user in `ps`: prefer --token-file or SOVEREIGN_SERVE_TOKEN)')
    .option('--threads <n>', 'CPU threads for the engine (default: physical cores, never oversubscribed; SOVEREIGN_THREADS)', intOption('--threads', 1, 1024))
    .option('--ctx <n>', 'context size in tokens per request (GGUF)', intOption('--ctx', 16, 1 << 20))
    .option('--parallel <n>', 'requests served at once (GGUF sequences)', intOption('--parallel', 1, 64), 1)
    .option('--queue <n>', 'requests that may wait; more get 503', intOption('--queue', 0, 10000), 32)
    .option('--max-body <bytes>', 'largest request body', intOption('--max-body', 1024, 1 << 30), 1 << 20)
    .option('--no-gpu', 'never offload to a GPU')
    .option('--llama-cpp <which>', 'GGUF: which llama.cpp runs the model: native (a build for this machine: `sovereign engine build`), prebuilt (node-llama-cpp\'s), auto (native when built; SOVEREIGN_LLAMA_CPP)', choiceOption('--llama-cpp value', ['auto', 'native', 'prebuilt']))
    .option('--allowed-host <name>', 'a name the Host header may carry besides loopback addresses, localhost and the bound address (repeatable; .example.com allows its subdomains)', collect)
    .option('--cors-origin <origin>', 'let web pages of ORIGIN (scheme://host[:port]) call this server: CORS headers for exactly that origin (repeatable; none by default)', collect)
    .option('--request-timeout <seconds>', 'the whole request (headers and body) must arrive within this time, else 408', secondsOption('--request-timeout', 0.05, 3600), SERVE_LIMIT_DEFAULTS.requestTimeoutMs)
    .option('--headers-timeout <seconds>', 'the request headers must arrive within this time, else 408', secondsOption('--headers-timeout', 0.05, 3600), SERVE_LIMIT_DEFAULTS.headersTimeoutMs)
    .option('--idle-timeout <seconds>', 'a request body that stops arriving this long gets 408; idle keep-alive connections close after at most 5 s', secondsOption('--idle-timeout', 0.05, 3600), SERVE_LIMIT_DEFAULTS.idleTimeoutMs)
    .option('--max-connections <n>', 'open connections at most; more are closed at once', intOption('--max-connections', 1, 1_000_000), SERVE_LIMIT_DEFAULTS.maxConnections)
    .option('--policy <file>', 'gate the model with this policy.yaml instead of the workspace\'s (deployment images ship theirs at /policy/policy.yaml)')
    .option('--policy-model <name@version>', 'with --policy: the registry version the model is, so that the policy\'s exceptions for it apply')
    .option('--drift-baseline <file>', 'watch /v1/predict inputs for drift against this baseline.json (`sovereign eval` stores it under .sovereign/evals/NAME/VERSION/; deployment images ship it at /policy/drift-baseline.json): GET /v1/drift and sovereign_drift_* in /metrics; thresholds from the policy\'s drift: section. A registered ONNX version served by its manifest finds its own')
    .option('--drift-baseline-prompts <file>', 'GGUF: watch /v1/completions and /v1/chat/completions prompts (length, script, words) against this baseline prompt set (the `deploy canary --prompts` format): GET /v1/drift; threshold: the policy\'s drift.psi. docs/drift.md section 6')
    .option('--admin-token-file <file>', 'enable the admin routes (/admin/mirror: shadow traffic) with the token in FILE (or set SOVEREIGN_ADMIN_TOKEN); without one they do not exist')
    .addHelpText('after', [
      '',
      'Once the model is loaded, one JSON line goes to stdout: {"url", "host", "port", "model", "kind", "loadMs"}.',
      'GET /health answers 503 while the model loads and 200 once it is ready. Stop with Ctrl-C or SIGTERM.',
      'Web pages cannot call it: the Host header must name this server, cross-origin browser requests are refused',
      '(unless --cors-origin), POST bodies must be application/json. See docs/serve.md.',
      'Exit status: 0 stopped cleanly, 1 model refused (validation or policy) or engine failure, 2 usage or I/O error.',
    ].join('\n'))
    .action(async (opts: {
      model: string; host: string; port: number; token?: string; tokenFile?: string; threads?: number; ctx?: number; parallel: number; queue: number; maxBody: number; gpu: boolean; llamaCpp?: LlamaCppChoice; adminTokenFile?: string;
      allowedHost?: string[]; policy?: string; policyModel?: string; driftBaseline?: string; driftBaselinePrompts?: string; corsOrigin?: string[]; requestTimeout: number; headersTimeout: number; idleTimeout: number; maxConnections: number;
    }) => {
      if (opts.token !== undefined && opts.tokenFile !== undefined) throw new UsageError('give the token once: --token or --token-file, not both');
      if (opts.token !== undefined) {
        info('warning: --token puts the token on the command line, where every user of this machine can read it (ps, /proc); use --token-file FILE or SOVEREIGN_SERVE_TOKEN instead');
      }
      const token = opts.token ?? (opts.tokenFile !== undefined ? await readTokenFile(opts.tokenFile, 'token') : process.env.SOVEREIGN_SERVE_TOKEN || undefined);
      const adminToken = opts.adminTokenFile === undefined ? process.env.SOVEREIGN_ADMIN_TOKEN || undefined : await readTokenFile(opts.adminTokenFile, 'admin token');
      if (!LOOPBACK.has(opts.host) && !token) {
        info(`warning: serving on ${opts.host} without --token: anyone who can reach this address can use the model`);
      }
      const workspaceRoot = await workspaceOrUndefined();
      const policy = opts.policy === undefined ? undefined : await loadPolicyFile(opts.policy);
      const drift = opts.driftBaseline === undefined ? undefined : await liveDriftFromFile(opts.driftBaseline, policy ? policy.policy : (await loadPolicy(workspaceRoot)).policy);
      if (drift) info(`drift: ${drift.baseline.features.length} feature(s) watched against ${opts.driftBaseline} (window ${drift.window} rows)`);
      const promptDrift = opts.driftBaselinePrompts === undefined ? undefined : await promptDriftFromFile(opts.driftBaselinePrompts, policy ? policy.policy : (await loadPolicy(workspaceRoot)).policy);
      if (promptDrift) info(`drift: prompts watched against ${promptDrift.baseline.prompts} baseline prompts of ${opts.driftBaselinePrompts} (window ${promptDrift.window} prompts)`);
      info(`validating ${opts.model}${policy ? ` under the policy ${opts.policy}` : ''}...`);
      const server = await startServe({
        model: opts.model,
        host: opts.host,
        port: opts.port,
        token,
        parallel: opts.parallel,
        queue: opts.queue,
        maxBodyBytes: opts.maxBody,
        adminToken,
        allowedHosts: opts.allowedHost,
        corsOrigins: opts.corsOrigin,
        requestTimeoutMs: opts.requestTimeout,
        headersTimeoutMs: opts.headersTimeout,
        idleTimeoutMs: opts.idleTimeout,
        maxConnections: opts.maxConnections,
        workspaceRoot,
        drift,
        promptDrift,
        ...(policy ? { gate: policyGate(workspaceRoot, policy, opts.policyModel ? parseModelRef(opts.policyModel) : undefined), mirror: { allowed: allowedEndpoints(policy.policy), auditRoot: workspaceRoot } } : {}),
        load: { threads: opts.threads, contextSize: opts.ctx, gpu: opts.gpu ? 'auto' : false, llamaCpp: opts.llamaCpp },
        supervisor: { onLog: (line) => info(`[engine] ${line}`) },
        onListening: (url) => info(`listening on ${url}; loading the model...`),
      });
      const d = server.description;
      info(`ready: ${d.name} (${d.kind}${d.kind === 'gguf' ? `, ctx ${d.contextSize}, ${d.threads} thread(s), ${describeBackend(d)}, llama.cpp ${d.llamaCpp?.build === 'native' ? `native build (${d.llamaCpp.backend}, network ${d.llamaCpp.isolation === 'network-namespace' ? 'none' : 'not isolated'})` : 'prebuilt'}, infill ${d.infill}` : `, ${d.executionProviders?.join('+')}`}) loaded in ${Math.round(d.loadMs)} ms`);
      if (server.model.rules) {
        const unavailable = server.model.findings.some((f) => f.rule === 'yara/unavailable');
        info(`malware rules: ${unavailable ? 'NOT run: the YARA-X engine cannot load on this platform (finding yara/unavailable)' : server.model.rules.cached ? 'verdict reused from the cache (same bytes, same rule pack)' : 'scanned, no blocking finding'} (rule pack ${server.model.rules.pack.slice(0, 12)})`);
      }
      if (!drift && server.drift) info(`drift: ${server.drift.baseline.features.length} feature(s) watched against the version's validation baseline (window ${server.drift.window} rows)`);
      if (!promptDrift && server.promptDrift) info(`drift: prompts watched against the version's ${server.promptDrift.baseline.prompts} baseline prompts (${server.promptDrift.source}, window ${server.promptDrift.window} prompts)`);
      // gpu/gpuLayers/totalLayers/llamaCpp: where a GGUF model runs, on which llama.cpp (the Local Engines view shows it).
      const backend = d.kind === 'gguf' ? { gpu: d.gpu ?? false, gpuLayers: d.gpuLayers ?? 0, totalLayers: d.totalLayers, llamaCpp: d.llamaCpp?.build } : {};
      process.stdout.write(JSON.stringify({ url: server.url, host: server.host, port: server.port, model: d.name, kind: d.kind, loadMs: Math.round(d.loadMs), ...backend }) + '\n');
      server.engine.on('restart', ({ attempt, delayMs }) => info(`the engine process ended; restart ${attempt} in ${delayMs} ms`));
      server.engine.on('state', (state) => {
        if (state === 'failed') info('the engine failed and will not be restarted; /health answers 503');
      });
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          info('stopping...');
          void server.close().then(resolve, resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}

/** A token from the first line of FILE (kept out of argv, which every user can read in `ps`). */
async function readTokenFile(file: string, what: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw ioError(err, file);
  }
  const token = text.split(/\r?\n/)[0].trim();
  if (!token) throw new UsageError(`${file} holds no ${what}`, 'write the token on its first line');
  return token;
}
