import { UsageError } from '../util/errors';

/**
 * The start of a reporting period from `--since`: an ISO date or date-time (2025-01-31,
 * 2025-01-31T12:00:00Z) or a duration back from now (90d, 12h, 30m, 2w).
 */
export function parseSince(text: string, now: Date = new Date()): Date {
  const trimmed = text.trim();
  const duration = /^(\d+)\s*([mhdw])$/i.exec(trimmed);
  if (duration) {
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[duration[2].toLowerCase() as 'm' | 'h' | 'd' | 'w'];
    return new Date(now.getTime() - Number(duration[1]) * unit);
  }
  if (/^\d{4}-\d{2}-\d{2}/.test(trimmed)) {
    const t = Date.parse(trimmed);
    if (!Number.isNaN(t)) return new Date(t);
  }
  throw new UsageError(`"${text}" is not a date or a duration`, 'use an ISO date (2025-01-31), a date-time (2025-01-31T12:00:00Z) or a duration (90d, 12h, 2w)');
}
