import * as vscode from 'vscode';
import { formatBytes } from '../../core/formats/render';
import { describeBackend } from '../../core/engines/gpu';
import type { LocalEngine, LocalEngines } from './local-engines';

/** The Local Engines tree: running model processes with state, memory and tokens/s. */
export class EnginesView implements vscode.TreeDataProvider<LocalEngine> {
  readonly onDidChangeTreeData: vscode.Event<void>;

  constructor(private readonly engines: LocalEngines) {
    this.onDidChangeTreeData = engines.onDidChange;
  }

  getChildren(element?: LocalEngine): LocalEngine[] {
    return element ? [] : this.engines.list();
  }

  getTreeItem(e: LocalEngine): vscode.TreeItem {
    const s = e.process.stats;
    const item = new vscode.TreeItem(e.label, vscode.TreeItemCollapsibleState.None);
    const parts: string[] = [s.state];
    // GGUF models: the llama.cpp backend and the layers on the GPU (cpu, 0 layers, on the CPU build).
    if (s.backend) parts.push(s.backend.gpu ? `${s.backend.gpu} ${s.backend.gpuLayers ?? 0}${s.backend.totalLayers ? `/${s.backend.totalLayers}` : ''} layers` : 'cpu');
    if (s.backend?.llamaCpp === 'native') parts.push('native llama.cpp');
    if (e.rssBytes) parts.push(formatBytes(e.rssBytes).split(' (')[0]);
    if (e.tokensPerSecond) parts.push(`${e.tokensPerSecond.toFixed(0)} tok/s`);
    item.description = parts.join(' · ');
    item.tooltip = new vscode.MarkdownString(
      [`**${e.label}**`, `model: \`${e.model}\``, `state: ${s.state}`, s.url ? `url: ${s.url}` : '', s.backend ? describeBackend(s.backend) : '', s.backend?.llamaCpp ? `llama.cpp: ${s.backend.llamaCpp === 'native' ? 'native build for this machine' : 'prebuilt (node-llama-cpp)'}` : '', s.pid ? `pid: ${s.pid}` : '', s.restarts ? `restarts: ${s.restarts}` : '', s.lastError ? `last error: ${s.lastError}` : '']
        .filter(Boolean)
        .join('\n\n'),
    );
    item.iconPath = new vscode.ThemeIcon(
      s.state === 'ready' ? 'pass-filled' : s.state === 'failed' ? 'error' : s.state === 'stopped' ? 'circle-outline' : 'loading~spin',
    );
    item.contextValue = 'sovereign.engine';
    item.id = e.model;
    return item;
  }
}
