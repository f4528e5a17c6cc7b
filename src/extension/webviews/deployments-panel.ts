import * as vscode from 'vscode';
import { dockerAvailability, engineAddress } from '../../core/deploy/engine';
import { listDeployments, type Deployment } from '../../core/deploy/deployments';
import { guardedFetch } from '../../core/net/egress';
import { describeError } from '../../core/util/errors';
import type { DeploymentRow, DeploymentsContract, DeploymentsState } from '../../../webview/deployments/contract';
import { summarizeMetrics } from '../../core/views/deployment-metrics';
import type { ExtensionServices } from '../context';
import { PanelSlot, ViewPanel, type PanelOrigin } from './view-panel';
import { VIEW_TYPES } from '../../../webview/shared/view-state';
import { DEPLOYMENTS_PARAMS } from '../../../webview/deployments/schema';

/** Modest: one /health and one /metrics request per running deployment every 10 s, only while visible. */
export const POLL_INTERVAL_MS = 10_000;
const PROBE_TIMEOUT_MS = 2_000;

interface History {
  up: number;
  probes: number;
  lastRequests?: number;
  lastAtMs?: number;
}

/** Staging deployments from the Docker engine's labels, with health and live metrics. */
export class DeploymentsPanel extends ViewPanel<DeploymentsContract> {
  private static readonly slot = new PanelSlot<DeploymentsPanel>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private readonly history = new Map<string, History>();

  /** The open panel, if any (one per view). */
  static get open(): DeploymentsPanel | undefined {
    return DeploymentsPanel.slot.open;
  }

  static show(services: ExtensionServices, column?: vscode.ViewColumn): DeploymentsPanel {
    return DeploymentsPanel.slot.show((origin) => new DeploymentsPanel(services, origin), column);
  }

  static revive(services: ExtensionServices, panel: vscode.WebviewPanel): DeploymentsPanel {
    return DeploymentsPanel.slot.revive((origin) => new DeploymentsPanel(services, origin), panel);
  }

  private constructor(services: ExtensionServices, origin: PanelOrigin) {
    super(services, { viewType: VIEW_TYPES.deployments, bundle: 'deployments', title: 'Deployments' }, DEPLOYMENTS_PARAMS, origin);
    this.rpc.handle('refresh', () => this.poll());
    this.gate.publish('state', { kind: 'loading' });
    this.schedule(0);
  }

  protected override onVisibilityChanged(visible: boolean): void {
    // Polling stops while the panel is hidden: nobody is looking, and each probe is a connection.
    if (visible) this.schedule(0);
    else clearTimeout(this.timer);
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      void this.poll().finally(() => {
        if (this.visible) this.schedule(POLL_INTERVAL_MS);
      });
    }, delayMs);
  }

  private poll(): Promise<void> {
    this.polling ??= (async () => {
      try {
        this.gate.publish('state', await this.read());
      } finally {
        this.polling = undefined;
      }
    })();
    return this.polling;
  }

  private async read(): Promise<DeploymentsState> {
    const available = await dockerAvailability();
    if (!available.available) {
      return {
        kind: 'unavailable',
        reason: `No Docker engine answers at ${engineAddress()}: ${available.reason}`,
        hint: 'Staging deployments run in Docker. Start the engine (or set DOCKER_HOST), then deploy with `sovereign deploy staging NAME@VERSION`.',
      };
    }
    let deployments: Deployment[];
    try {
      deployments = await listDeployments();
    } catch (err) {
      return { kind: 'unavailable', reason: `The Docker engine could not list the deployments: ${describeError(err)}`, hint: 'Check that this user may use the Docker socket.' };
    }
    const root = await this.services.workspaceRoot();
    const rows = await Promise.all(deployments.map((d) => this.probe(d, root)));
    return { kind: 'list', rows, polledAt: new Date().toISOString(), intervalMs: POLL_INTERVAL_MS };
  }

  private async probe(d: Deployment, root: string | undefined): Promise<DeploymentRow> {
    const row: DeploymentRow = {
      model: d.model,
      version: d.version,
      role: d.role,
      state: d.state,
      running: d.running,
      container: d.container,
      image: d.image,
      created: d.created,
      startedAt: d.startedAt,
      url: d.url ?? d.directUrl,
      health: d.running ? 'unknown' : 'stopped',
    };
    const base = d.directUrl ?? d.url;
    if (!d.running || !base) return row;
    const h = this.history.get(d.containerId) ?? { up: 0, probes: 0 };
    this.history.set(d.containerId, h);
    // Through the egress guard, like every connection of the product: checked against the policy, recorded.
    const options = { audit: root ? { root } : undefined, via: 'webview-deployments' };
    const started = performance.now();
    try {
      const res = await guardedFetch(`${base}/health`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) }, options);
      const body = (await res.json().catch(() => undefined)) as { status?: string } | undefined;
      row.healthMs = Math.round(performance.now() - started);
      row.health = res.status === 200 ? 'up' : body?.status === 'loading' || body?.status === 'restarting' ? 'loading' : 'down';
      row.healthDetail = body?.status ?? `HTTP ${res.status}`;
    } catch (err) {
      row.health = 'down';
      row.healthDetail = describeError(err);
    }
    h.probes++;
    if (row.health === 'up') h.up++;
    row.availability = { up: h.up, probes: h.probes };
    if (row.health === 'up') {
      try {
        const res = await guardedFetch(`${base}/metrics`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) }, options);
        if (res.status === 401) row.metricsProblem = 'the runtime asks for a bearer token: metrics are not shown';
        else if (res.status !== 200) row.metricsProblem = `/metrics answered HTTP ${res.status}`;
        else {
          const now = Date.now();
          row.metrics = summarizeMetrics(await res.text(), h.lastAtMs !== undefined ? { requests: h.lastRequests, atMs: h.lastAtMs } : undefined, now);
          h.lastRequests = row.metrics.requests;
          h.lastAtMs = now;
        }
      } catch (err) {
        row.metricsProblem = describeError(err);
      }
    }
    return row;
  }

  protected override onDisposed(): void {
    clearTimeout(this.timer);
    DeploymentsPanel.slot.release(this);
  }
}
