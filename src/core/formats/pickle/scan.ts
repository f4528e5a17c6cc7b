import type { Finding } from '../findings';
import type { ByteSource } from '../source';
import { judgeWalk } from './judge';
import { PickleWalker, type WalkResult } from './walker';

export interface PickleScan {
  walk: WalkResult;
  findings: Finding[];
  facts: Record<string, unknown>;
  joblib: boolean;
}

export interface PickleScanOptions {
  signal?: AbortSignal;
  /** Scan [start, end) of the source: a .npy object array's pickle starts after the header. */
  start?: number;
  end?: number;
}

/**
 * Walks every pickle in a byte range (until its end, several pickles in a row included) and judges the
 * globals and calls. The entry point for the pickle, zip (data.pkl), numpy (object arrays) readers.
 */
export async function scanPickle(source: ByteSource, options: PickleScanOptions = {}): Promise<PickleScan> {
  const walk = await new PickleWalker(source, options).walk();
  return { walk, ...judgeWalk(walk, source.path) };
}
