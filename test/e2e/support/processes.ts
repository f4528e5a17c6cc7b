/**
 * What runs inside code-server's process group (Linux /proc): the extension hosts and the native libraries
 * they have mapped, and the processes started from a given script (the engine child of the installed
 * extension). code-server is started detached, so its pid is the group id of every process it starts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/** The product's native engines: node-llama-cpp, ONNX Runtime, yara-x. */
const OUR_NATIVE = /(onnxruntime|llama|ggml|yara)[^/]*\.(node|so[.\d]*|dylib|dll)$/i;

function groupPids(groupId: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 5 of /proc/PID/stat is the process group; the command name (field 2) may hold spaces.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === groupId) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

/** Processes of the group whose command line names `script`. */
export function processesRunning(groupId: number, script: string): string[] {
  return groupPids(groupId)
    .map((pid) => `${pid} ${commandLine(pid)}`)
    .filter((line) => line.includes(script));
}

/** The product's native libraries mapped into any extension host of the group (`pid: path`). */
export async function nativeLibrariesOfExtensionHosts(groupId: number): Promise<string[]> {
  const hosts = groupPids(groupId).filter((pid) => /extensionHost/.test(commandLine(pid)));
  if (hosts.length === 0) throw new Error(`no extension host process found in process group ${groupId}`);
  const found = new Set<string>();
  for (const pid of hosts) {
    const maps = await readFile(`/proc/${pid}/maps`, 'utf8').catch(() => '');
    for (const line of maps.split('\n')) {
      const path = line.slice(line.indexOf('/'));
      if (line.includes('/') && OUR_NATIVE.test(path)) found.add(`${pid}: ${path}`);
    }
  }
  return [...found].sort();
}
