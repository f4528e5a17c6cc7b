/**
 * The benchmark's HTTP client: node:http with one keep-alive agent per run (destroyed at the end, so no socket
 * keeps the process alive). Targets are checked by the egress guard first: loopback and private networks, or
 * what the workspace policy allows.
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { assertEndpointAllowed, type CheckOptions } from '../net/egress';
import { pinnedLookup } from '../net/pinned-fetch';

export interface BenchTarget {
  url: URL;
  token?: string;
  agent: HttpAgent;
  close(): void;
}

/** `check.lookup` resolves the name for the egress check (tests inject one); connections then use only its answer. */
export async function openTarget(url: string, token: string | undefined, sockets: number, check: CheckOptions = {}): Promise<BenchTarget> {
  const parsed = new URL(url);
  const checked = await assertEndpointAllowed(parsed, undefined, check);
  // Connect only to the addresses that were checked: a name is not resolved a second time (DNS rebinding).
  const lookup = checked.addresses.length ? pinnedLookup(checked.addresses) : undefined;
  const options = { keepAlive: true, maxSockets: sockets, ...(lookup ? { lookup } : {}) };
  const agent = parsed.protocol === 'https:' ? new HttpsAgent(options) : new HttpAgent(options);
  return { url: parsed, token, agent, close: () => agent.destroy() };
}

export interface StreamTiming {
  status: number;
  /** Milliseconds to the response headers, the first data event, and the end. */
  firstEventMs?: number;
  /** Milliseconds to the last event that carried generated text (before the closing usage and [DONE] events). */
  lastTokenEventMs?: number;
  totalMs: number;
  events: number;
  body: string;
  usage?: { prompt_tokens?: number; completion_tokens?: number };
}

/** POSTs JSON and times the answer; with `stream: true` bodies, counts the SSE events and times the first one. */
export function postTimed(target: BenchTarget, path: string, body: unknown): Promise<StreamTiming> {
  const started = performance.now();
  const payload = JSON.stringify(body);
  const base = target.url.pathname.replace(/\/$/, '');
  const send = target.url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      new URL(base + path, target.url),
      {
        method: 'POST',
        agent: target.agent,
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload), ...(target.token ? { Authorization: `Bearer ${target.token}` } : {}) },
      },
      (res) => {
        let text = '';
        let firstEventMs: number | undefined;
        let lastTokenEventMs: number | undefined;
        let events = 0;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (chunk.includes('data: ')) {
            const now = performance.now() - started;
            firstEventMs ??= now;
            const found = chunk.split('data: ').slice(1);
            events += found.length;
            if (found.some((e) => !e.startsWith('[DONE]') && !e.includes('"usage"'))) lastTokenEventMs = now;
          }
          text += chunk;
        });
        res.on('end', () => {
          let usage: StreamTiming['usage'];
          try {
            const last = text.includes('data: ')
              ? text.split('data: ').map((s) => s.trim()).filter((s) => s && s !== '[DONE]').at(-1)
              : text;
            usage = last ? (JSON.parse(last) as { usage?: StreamTiming['usage'] }).usage : undefined;
          } catch {
            usage = undefined;
          }
          resolve({ status: res.statusCode ?? 0, firstEventMs, lastTokenEventMs, totalMs: performance.now() - started, events, body: text, usage });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
