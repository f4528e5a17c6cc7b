import type { BenchReport } from './bench';
import type { MeanStd } from './stats';

const ms = (v: number | undefined): string => (v === undefined ? '-' : v >= 100 ? `${v.toFixed(0)} ms` : `${v.toFixed(2)} ms`);
const pm = (m: MeanStd | undefined, unit: string): string => (m && m.n ? `${m.mean.toFixed(1)} ± ${m.stddev.toFixed(1)} ${unit} (n=${m.n})` : '-');
const mib = (b: number | undefined): string => (b === undefined ? '-' : `${(b / 1024 / 1024).toFixed(1)} MiB`);

/** The report for people (the JSON is the contract; this is a summary of it). */
export function renderBench(r: BenchReport): string {
  const lines = [
    `target     ${r.target.name}${r.target.path ? ` (${r.target.path})` : r.target.url ? ` (${r.target.url})` : ''}`,
    `machine    ${r.machine.cpuModel}, ${r.machine.physicalCores} physical / ${r.machine.logicalCores} logical cores, ${mib(r.machine.memoryBytes)}${r.machine.gpus.length ? `, ${r.machine.gpus.map((g) => g.name).join(', ')}` : ', no GPU'}`,
  ];
  if (r.engine) lines.push(`engine     ${Object.entries(r.engine.versions).map(([k, v]) => `${k} ${v}`).join(', ')}; ${r.engine.threads} thread(s)${r.engine.contextSize ? `, ctx ${r.engine.contextSize}` : ''}${r.engine.gpu ? `, gpu ${r.engine.gpu} (${r.engine.gpuLayers} layers)` : ''}`);
  const x = r.results;
  if (x.coldLoadMs !== undefined) lines.push(`cold load  ${ms(x.coldLoadMs)} (native load ${ms(x.modelLoadMs)})`);
  if (x.ttftMs) lines.push(`TTFT       ${pm(x.ttftMs, 'ms')}`);
  if (x.pp) lines.push(`pp${x.pp.tokens}`.padEnd(11) + pm(x.pp.tokensPerSecond, 'tok/s'));
  if (x.tg) lines.push(`tg${x.tg.tokens}`.padEnd(11) + pm(x.tg.tokensPerSecond, 'tok/s'));
  if (x.predict) lines.push(`predict    batch ${x.predict.batch}: p50 ${ms(x.predict.latencyMs.p50)}, p95 ${ms(x.predict.latencyMs.p95)}, p99 ${ms(x.predict.latencyMs.p99)}`);
  if (x.load) {
    const l = x.load;
    lines.push(
      `load       ${l.clients} clients, ${l.durationS.toFixed(1)} s: ${l.requests} requests (${l.requestsPerSecond.toFixed(1)}/s), errors ${l.errors} (${(l.errorRate * 100).toFixed(2)}%)`,
      `latency    p50 ${ms(l.latencyMs.p50)}, p95 ${ms(l.latencyMs.p95)}, p99 ${ms(l.latencyMs.p99)}`,
    );
    if (l.memoryBytes) lines.push(`memory     engine RSS ${mib(l.memoryBytes.start)} -> ${mib(l.memoryBytes.end)} (max ${mib(l.memoryBytes.max)})`);
  }
  return lines.join('\n') + '\n';
}
