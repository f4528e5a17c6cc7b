/**
 * The serving runtime behind `sovereign serve`: one model in a supervised engine process, served over HTTP
 * (node:http). The same runtime runs on a developer's machine, inside the extension, and in the Docker image.
 *
 * Loopback by default; optional bearer token; request bodies capped (413); a bounded queue in front of the
 * engine (503 when full); a client that disconnects cancels its generation; Prometheus metrics.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EngineCrashedError, EngineRequestError, type EngineSupervisor } from '../engines/supervisor';
import { AdmissionQueue, QueueFullError } from './admission';
import { HttpError, readJsonBody, sendError, sendJson } from './http-util';
import { ServeMetrics } from './metrics';
import { chatCompletions, completions, embeddings, infill, modelsList, predict, type RouteContext } from './routes';

export interface ServeOptions {
  /** Default 127.0.0.1 (loopback). */
  host?: string;
  /** 0 picks a free port. Default 8080. */
  port?: number;
  /** When set, every route but /health needs `Authorization: Bearer TOKEN`. */
  token?: string;
  /** Requests run at once; match the engine's sequences. Default 1. */
  parallel?: number;
  /** Requests that may wait for a slot; more get 503. Default 32. */
  queue?: number;
  /** Largest request body in bytes. Default 1 MiB. */
  maxBodyBytes?: number;
}

type Handler = (ctx: RouteContext) => Promise<void>;

const ENGINE_ROUTES: Record<string, Handler> = {
  '/v1/completions': completions,
  '/v1/chat/completions': chatCompletions,
  '/v1/embeddings': embeddings,
  '/infill': infill,
  '/v1/predict': predict,
};

export class ServeRuntime {
  readonly metrics: ServeMetrics;
  readonly queue: AdmissionQueue;
  private readonly server: Server;
  private readonly startedAt = Math.floor(Date.now() / 1000);
  private readonly options: Required<Omit<ServeOptions, 'token'>> & { token?: string };

  constructor(
    readonly engine: EngineSupervisor,
    options: ServeOptions = {},
  ) {
    this.options = { host: '127.0.0.1', port: 8080, parallel: 1, queue: 32, maxBodyBytes: 1 << 20, ...options };
    this.metrics = new ServeMetrics(() => engine.rssBytes());
    this.queue = new AdmissionQueue(this.options.parallel, this.options.queue, (running, waiting) => {
      this.metrics.inFlight.set(running);
      this.metrics.queueDepth.set(waiting);
    });
    engine.on('restart', () => this.metrics.engineRestarts.inc());
    this.server = createServer((req, res) => void this.handle(req, res));
    // A slow client must not hold a connection forever; generation itself may take minutes.
    this.server.headersTimeout = 30_000;
    this.server.requestTimeout = 0;
    this.server.keepAliveTimeout = 5_000;
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
    const route = ENGINE_ROUTES[path] || ['/health', '/metrics', '/v1/models', '/models'].includes(path) ? path : 'other';
    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    try {
      await this.dispatch(req, res, path, controller.signal);
    } catch (err) {
      this.fail(res, route, err, controller.signal);
    } finally {
      const status = String(res.statusCode);
      this.metrics.requests.inc({ route, status });
      this.metrics.requestDuration.observe({ route, status }, (performance.now() - started) / 1000);
    }
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse, path: string, signal: AbortSignal): Promise<void> {
    if (path === '/health') {
      const state = this.engine.state;
      const status = state === 'ready' ? 'ok' : state === 'starting' || state === 'idle' ? 'loading' : state === 'restarting' ? 'restarting' : 'error';
      sendJson(res, state === 'ready' ? 200 : 503, { status, engine: state });
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
    const model = this.engine.description;
    if (path === '/v1/models' || path === '/models') {
      if (!model) throw new HttpError(503, 'the model is loading', 'server_error', { 'Retry-After': '1' });
      sendJson(res, 200, modelsList(model, this.startedAt));
      return;
    }
    const handler = ENGINE_ROUTES[path];
    if (!handler) throw new HttpError(404, `no route ${path}`);
    if (req.method !== 'POST') throw new HttpError(405, `use POST ${path}`);
    const body = await readJsonBody(req, this.options.maxBodyBytes);
    if (!model || this.engine.state === 'starting') throw new HttpError(503, 'the model is loading', 'server_error', { 'Retry-After': '1' });
    const release = await this.queue.acquire(signal);
    try {
      await handler({ engine: this.engine, model, body, res, signal, onGeneration: (r) => this.metrics.recordGeneration(r) });
    } finally {
      release();
    }
  }

  private authorize(req: IncomingMessage): void {
    const token = this.options.token;
    if (!token) return;
    const header = req.headers.authorization ?? '';
    const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7) : '');
    const wanted = Buffer.from(token);
    if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
      throw new HttpError(401, 'a bearer token is required (Authorization: Bearer TOKEN)', 'authentication_error', { 'WWW-Authenticate': 'Bearer' });
    }
  }

  private fail(res: ServerResponse, route: string, err: unknown, signal: AbortSignal): void {
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
    sendError(res, http);
  }
}
