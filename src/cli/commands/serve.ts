import type { Command } from 'commander';

// PLACEHOLDER: this command family lands with its issue; nothing is registered yet.
export function register(_program: Command): void {}
