/**
 * Preload for Node child processes of the test run (`NODE_OPTIONS=--require <this file>`): installs the
 * socket guard, refuses any connection outside loopback, and appends each violation to
 * $SOVEREIGN_EGRESS_VIOLATIONS_FILE for the parent's root hook to report. See docs/audit.md.
 */
import { appendFileSync } from 'node:fs';
import { installSocketGuard } from '../../src/core/net/socket-guard';

const file = process.env.SOVEREIGN_EGRESS_VIOLATIONS_FILE;
const allowed = (process.env.SOVEREIGN_TEST_EGRESS_ALLOW ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);

installSocketGuard({
  allowed,
  guardDns: true,
  onViolation: (v) => {
    const line = JSON.stringify({ ...v, argv: process.argv.slice(1).join(' ').slice(0, 200) }) + '\n';
    try {
      if (file) appendFileSync(file, line);
    } catch {
      // the parent still sees the refusal as a failed connection in the child
    }
    process.stderr.write(`no-egress: refused ${v.kind} ${v.host ?? ''} ${v.address ?? ''} ${v.port ?? ''} in pid ${process.pid}\n`);
  },
});
