/**
 * The serving runtime behind `sovereign serve`: one model in a supervised engine process, served over HTTP
 * (node:http). The same runtime runs on a developer's machine, inside the extension, and in the Docker image.
 *
 * Loopback by default; optional bearer token; Host, Origin and Content-Type checks against web pages
 * (request-guard.ts); timeouts for slow clients and a connection cap; request bodies capped (413) and read
 * only after the request has a place in the bounded queue in front of the engine (503 when full, before any
 * body byte is read); a client that disconnects cancels its generation; Prometheus metrics.
 * With an admin token, `/admin/mirror` switches shadow traffic on and off (see mirror.ts).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { EngineCrashedError, EngineRequestError, type EngineSupervisor } from '../engines/supervisor';
import { UsageError } from '../util/errors';
import { AdmissionQueue, QueueFullError, type AdmissionTicket } from './admission';
import { checkJsonRequest, HttpError, optionalNumber, readJsonBody, sendError, sendJson } from './http-util';
import { ServeMetrics } from './metrics';
import type { LiveDriftMonitor } from '../drift/live';
import { promptOfBody, type LivePromptWindow } from '../drift/prompts';
import { driftRoute } from './drift-route';
import { Mirror, SHADOW_HEADER, type MirrorOptions } from './mirror';
import { RequestGuard } from './request-guard';
import { chatCompletions, completions, embeddings, infill, modelsList, predict, tokenize, type RouteContext } from './routes';

export interface ServeOptions {
  /** Default 127.0.0.1 (loopback). */
  host?: string;
  /** 0 picks a free port. Default 8080. */
  port?: number;
  /** Live drift of /v1/predict inputs against the served version's validation baseline (GET /v1/drift, /metrics). */
  drift?: LiveDriftMonitor;
  /** Live prompt drift of /v1/completions and /v1/chat/completions against a baseline prompt set (GET /v1/drift). */
  promptDrift?: LivePromptWindow;
  /** When set, every route but /health needs `Authorization: Bearer TOKEN`. */
  token?: string;
  /** Requests run at once; match the engine's sequences. Default 1. */
  parallel?: number;
  /** Requests that may wait for a slot; more get 503. Default 32. */
  queue?: number;
  /** Largest request body in bytes. Default 1 MiB. */
  maxBodyBytes?: number;
  /**
   * Enables the admin routes (`/admin/mirror`), which need `Authorization: Bearer ADMIN_TOKEN`. Without
   * it they do not exist (404). Must differ from `token`.
   */
  adminToken?: string;
  /** Where a mirror target may be (the policy's allowed endpoints) and which audit log records the egress. */
  mirror?: MirrorOptions;
  /**
   * Names the Host header may carry besides loopback addresses, `localhost` and the bound address (and any IP
   * literal when bound to a non-loopback address). A leading dot allows a domain and its subdomains.
   */
  allowedHosts?: string[];
  /** Web origins allowed to call this server from a browser (CORS); none by default. */
  corsOrigins?: string[];
  /** The whole request (headers and body) must arrive within this many ms (else 408, connection closed). Default 30 000. */
  requestTimeoutMs?: number;
  /** The headers must arrive within this many ms of the connection or of the previous request. Default 10 000. */
  headersTimeoutMs?: number;
  /** A request body that stops arriving for this many ms gets 408; also the keep-alive idle time (at most 5 s). Default 10 000. */
  idleTimeoutMs?: number;
  /** Open connections at most; more are closed at once. Default 256. */
  maxConnections?: number;
}

/** Defaults of the slow-client limits (also what `sovereign serve` documents). */
export const SERVE_LIMIT_DEFAULTS = { requestTimeoutMs: 30_000, headersTimeoutMs: 10_000, idleTimeoutMs: 10_000, maxConnections: 256 } as const;

/** Admin tokens shorter than this are refused: they guard the switch that copies live traffic elsewhere. */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

type Handler = (ctx: RouteContext) => Promise<void>;

const ENGINE_ROUTES: Record<string, Handler> = {
  '/v1/completions': completions,
  '/v1/chat/completions': chatCompletions,
  '/v1/embeddings': embeddings,
  '/infill': infill,
  '/v1/predict': predict,
  '/tokenize': tokenize,
};

export class ServeRuntime {
  readonly metrics: ServeMetrics;
  readonly queue: AdmissionQueue;
  /** Shadow traffic (off until an admin switches it on). */
  readonly mirror: Mirror;
  private readonly server: Server;
  private readonly startedAt = Math.floor(Date.now() / 1000);
  private readonly options: Required<Omit<ServeOptions, 'token' | 'adminToken' | 'mirror' | 'allowedHosts' | 'corsOrigins' | 'drift' | 'promptDrift'>> & Pick<ServeOptions, 'token' | 'adminToken' | 'drift' | 'promptDrift'>;
  private readonly guard: RequestGuard;
  private readonly reclaimer = new BodyReclaimer();

  constructor(
    readonly engine: EngineSupervisor,
    options: ServeOptions = {},
  ) {
    const { mirror, allowedHosts, corsOrigins, ...rest } = options;
    this.options = { host: '127.0.0.1', port: 8080, parallel: 1, queue: 32, maxBodyBytes: 1 << 20, ...SERVE_LIMIT_DEFAULTS, ...definedOnly(rest) };
    for (const key of ['requestTimeoutMs', 'headersTimeoutMs', 'idleTimeoutMs'] as const) {
      const v = this.options[key];
      if (!(Number.isFinite(v) && v >= 10)) throw new UsageError(`${key} must be at least 10 ms, got ${v}`);
    }
    if (!(Number.isInteger(this.options.maxConnections) && this.options.maxConnections >= 1)) throw new UsageError(`maxConnections must be a whole number of at least 1, got ${this.options.maxConnections}`);
    this.guard = new RequestGuard({ bound: this.options.host, allowedHosts, corsOrigins });
    if (options.adminToken !== undefined) {
      if (options.adminToken.length < MIN_ADMIN_TOKEN_LENGTH) throw new UsageError(`the admin token must have at least ${MIN_ADMIN_TOKEN_LENGTH} characters`);
      if (options.adminToken === options.token) throw new UsageError('the admin token must differ from the client token (--token)');
    }
    this.mirror = new Mirror(mirror);
    this.metrics = new ServeMetrics(() => engine.rssBytes());
    this.queue = new AdmissionQueue(this.options.parallel, this.options.queue, (running, waiting) => {
      this.metrics.inFlight.set(running);
      this.metrics.queueDepth.set(waiting);
    });
    engine.on('restart', () => this.metrics.engineRestarts.inc());
    // A slow client must not hold a connection (or memory) for long: the headers, then the whole request,
    // must arrive in bounded time (Node answers 408 and closes). These clocks stop once the request is in:
    // generation itself may take minutes. Node checks them every `connectionsCheckingInterval`.
    const { requestTimeoutMs, idleTimeoutMs } = this.options;
    const headersTimeoutMs = Math.min(this.options.headersTimeoutMs, requestTimeoutMs);
    this.server = createServer(
      { requestTimeout: requestTimeoutMs, headersTimeout: headersTimeoutMs, connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeoutMs / 4))) },
      (req, res) => void this.handle(req, res),
    );
    // `Expect: 100-continue` is answered only once the request has a place in the queue.
    this.server.on('checkContinue', (req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = Math.min(5_000, idleTimeoutMs);
    // Beyond the cap, Node closes new connections at once.
    this.server.maxConnections = this.options.maxConnections;
  }

  /** Starts listening; resolves with the URL (port 0 gives a free port). */
  async listen(): Promise<{ url: string; host: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const address = this.server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return { url: `http://${host}:${address.port}`, host: address.address, port: address.port };
  }

  /** Stops accepting connections and closes the open ones (the engine is stopped by its owner). */
  async close(): Promise<void> {
    this.reclaimer.cancel();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** Called when the engine has loaded (metrics). */
  modelLoaded(loadMs: number): void {
    this.metrics.modelLoadSeconds.set(loadMs / 1000);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const path = (req.url ?? '/').split('?')[0];
    const route = ENGINE_ROUTES[path] || ['/health', '/metrics', '/v1/models', '/models', '/v1/drift', ADMIN_MIRROR].includes(path) ? path : 'other';
    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    const answered: Answered = {};
    let ok = false;
    try {
      await this.dispatch(req, res, path, controller.signal, answered);
      ok = true;
    } catch (err) {
      this.fail(req, res, route, err, controller.signal);
    } finally {
      const status = String(res.statusCode);
      const ms = performance.now() - started;
      this.metrics.requests.inc({ route, status });
      this.metrics.requestDuration.observe({ route, status }, ms / 1000);
      if (ok && res.statusCode === 200 && path === '/v1/predict') this.options.drift?.observe(answered.body, answered.output);
      if (ok && res.statusCode === 200 && (path === '/v1/completions' || path === '/v1/chat/completions')) this.options.promptDrift?.observe(promptOfBody(answered.body));
      // Shadow traffic: only AFTER the client has its whole answer, and never for a request that is itself a copy.
      if (ok && res.statusCode === 200 && answered.body && answered.kind && !controller.signal.aborted && req.headers[SHADOW_HEADER] === undefined) {
        this.mirror.offer({ route: path, body: answered.body, output: answered.output, kind: answered.kind, ms });
      }
    }
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse, path: string, signal: AbortSignal, answered: Answered): Promise<void> {
    // Host, Origin, Sec-Fetch-Site first: a web page gets nothing, not even /health.
    if (this.guard.check(req, res)) return;
    if (path === '/health') {
      const state = this.engine.state;
      const status = state === 'ready' ? 'ok' : state === 'starting' || state === 'idle' ? 'loading' : state === 'restarting' ? 'restarting' : 'error';
      sendJson(res, state === 'ready' ? 200 : 503, { status, engine: state });
      return;
    }
    if (path === ADMIN_MIRROR) {
      await this.adminMirror(req, res);
      return;
    }
    this.authorize(req);
    if (path === '/metrics') {
      if (req.method !== 'GET') throw new HttpError(405, 'use GET');
      const { contentType, body } = await this.metrics.text();
      res.writeHead(200, { 'Content-Type': contentType });
      res.end(body);
      return;
    }
    if (path === '/v1/drift' && !this.options.drift && this.options.promptDrift) {
      if (req.method !== 'GET') throw new HttpError(405, 'use GET /v1/drift');
      return sendJson(res, 200, this.options.promptDrift.report());
    }
    if (path === '/v1/drift') return driftRoute(this.options.drift, req, res);
    const model = this.engine.description;
    if (path === '/v1/models' || path === '/models') {
      if (!model) throw new HttpError(503, 'the model is loading', 'server_error', { 'Retry-After': '1' });
      sendJson(res, 200, modelsList(model, this.startedAt));
      return;
    }
    const handler = ENGINE_ROUTES[path];
    if (!handler) throw new HttpError(404, `no route ${path}`);
    if (req.method !== 'POST') throw new HttpError(405, `use POST ${path}`);
    // Everything that can refuse the request does so before a byte of the body is read.
    checkJsonRequest(req, this.options.maxBodyBytes);
    if (!model || this.engine.state === 'starting') throw new HttpError(503, 'the model is loading', 'server_error', { 'Retry-After': '1' });
    const ticket: AdmissionTicket = this.queue.reserve();
    let release: (() => void) | undefined;
    try {
      continueIfExpected(req, res);
      const body = await readJsonBody(req, this.options.maxBodyBytes, this.options.idleTimeoutMs, (bytes) => this.reclaimer.dropped(bytes));
      release = await ticket.acquire(signal);
      answered.body = body;
      answered.kind = model.kind;
      await handler({ engine: this.engine, model, body, res, signal, onGeneration: (r) => this.metrics.recordGeneration(r), onOutput: (o) => (answered.output = o) });
    } finally {
      if (release) release();
      else ticket.cancel();
    }
  }

  /**
   * GET (stats), PUT {target, share, seconds?, timeout_ms?, max_in_flight?} (switch on), DELETE (switch
   * off, final stats). Only with an admin token configured (404 otherwise) and only with that token (401):
   * the client token never opens it.
   */
  private async adminMirror(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const wanted = this.options.adminToken;
    if (!wanted) throw new HttpError(404, `no route ${ADMIN_MIRROR}`);
    if (!bearerMatches(req, wanted)) {
      throw new HttpError(401, 'the admin routes need the admin token (Authorization: Bearer ADMIN_TOKEN)', 'authentication_error', { 'WWW-Authenticate': 'Bearer' });
    }
    if (req.method === 'GET') return sendJson(res, 200, this.mirror.stats());
    if (req.method === 'DELETE') return sendJson(res, 200, this.mirror.stop());
    if (req.method !== 'PUT') throw new HttpError(405, `use GET, PUT or DELETE ${ADMIN_MIRROR}`);
    checkJsonRequest(req, 16 * 1024);
    continueIfExpected(req, res);
    const body = await readJsonBody(req, 16 * 1024, this.options.idleTimeoutMs);
    const stats = await this.mirror.configure({
      target: body.target as string,
      share: body.share as number,
      seconds: optionalNumber(body, 'seconds', 1, 7 * 24 * 3600),
      timeoutMs: optionalNumber(body, 'timeout_ms', 100, 600_000),
      maxInFlight: intOrUndefined(optionalNumber(body, 'max_in_flight', 1, 16)),
      maxBodyBytes: intOrUndefined(optionalNumber(body, 'max_body_bytes', 1024, this.options.maxBodyBytes)),
    });
    sendJson(res, 200, stats);
  }

  private authorize(req: IncomingMessage): void {
    const token = this.options.token;
    if (!token) return;
    if (!bearerMatches(req, token)) {
      throw new HttpError(401, 'a bearer token is required (Authorization: Bearer TOKEN)', 'authentication_error', { 'WWW-Authenticate': 'Bearer' });
    }
  }

  private fail(req: IncomingMessage, res: ServerResponse, route: string, err: unknown, signal: AbortSignal): void {
    if (signal.aborted) {
      // The client went away: nobody to answer; the generation was cancelled through the signal.
      this.metrics.cancelled.inc({ route });
      res.statusCode = 499;
      res.destroy();
      return;
    }
    let http: HttpError;
    let kind: string;
    if (err instanceof HttpError) {
      http = err;
      kind = err.status === 503 ? 'overload' : 'client';
    } else if (err instanceof QueueFullError) {
      http = new HttpError(503, `${err.message}; retry later`, 'server_error', { 'Retry-After': '1' });
      kind = 'overload';
    } else if (err instanceof EngineCrashedError) {
      http = new HttpError(500, `${err.message}; the engine is restarting`);
      kind = 'engine';
    } else if (err instanceof EngineRequestError) {
      http = new HttpError(err.remoteName === 'UsageError' || err.remoteName === 'RefusedError' ? 400 : 500, err.message);
      kind = http.status === 400 ? 'client' : 'engine';
    } else {
      http = new HttpError(500, err instanceof Error ? err.message : String(err));
      kind = 'engine';
    }
    this.metrics.errors.inc({ route, kind });
    // A refused request whose body was not read (or a wrong token, a foreign page, a slow client) does not
    // keep its connection: the answer says `Connection: close` and Node closes the socket once it is sent,
    // without reading what the client may still be sending.
    if (!req.complete || [401, 403, 408, 413, 415].includes(http.status)) res.shouldKeepAlive = false;
    sendError(res, http);
  }
}

const ADMIN_MIRROR = '/admin/mirror';

/** What the server learned about a request while answering it (for shadow traffic). */
interface Answered {
  body?: Record<string, unknown>;
  kind?: 'gguf' | 'onnx';
  output?: string;
}

/** `Authorization: Bearer TOKEN`, the scheme in any case (RFC 7235); compared in constant time. */
export function bearerMatches(req: IncomingMessage, token: string): boolean {
  const m = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(req.headers.authorization ?? '');
  if (!m) return false;
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(m[1]), digest(token));
}

/** Sends `100 Continue` to a client that waits for it (only once its request has been admitted). */
function continueIfExpected(req: IncomingMessage, res: ServerResponse): void {
  if (/^100-continue$/i.test(req.headers.expect ?? '')) res.writeContinue();
}

/**
 * Gives the memory of abandoned request bodies back soon. Bodies of slow clients that time out (up to
 * `(parallel + queue) x max-body`) become garbage, but V8 collects external memory only under pressure, so an
 * idle server would keep it indefinitely. Once at least 4 MiB of abandoned bodies have piled up, a full
 * collection runs 500 ms after the last one (at most every 5 s). It never runs for requests that succeed.
 */
class BodyReclaimer {
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private last = 0;

  dropped(bytes: number): void {
    this.bytes += bytes;
    if (this.bytes < 4 << 20) return;
    clearTimeout(this.timer);
    const wait = Math.max(200, this.last + 2000 - Date.now());
    this.timer = setTimeout(() => {
      this.bytes = 0;
      this.last = Date.now();
      fullGc()?.();
    }, wait);
    this.timer.unref();
  }

  cancel(): void {
    clearTimeout(this.timer);
  }
}

let gcFunction: (() => void) | null | undefined;

/** V8's full collection (`gc()`), exposed at run time for this purpose; null where that is not possible. */
function fullGc(): (() => void) | null {
  if (gcFunction !== undefined) return gcFunction;
  try {
    const existing = (globalThis as { gc?: () => void }).gc;
    if (typeof existing === 'function') return (gcFunction = existing);
    setFlagsFromString('--expose-gc');
    gcFunction = runInNewContext('gc') as () => void;
  } catch {
    gcFunction = null;
  }
  return gcFunction;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function intOrUndefined(n: number | undefined): number | undefined {
  return n === undefined ? undefined : Math.floor(n);
}
