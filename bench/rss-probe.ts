/**
 * Preloaded (`node -r out/bench/rss-probe.js ...`) into a measured process: at exit it prints the peak RSS
 * in KiB on stderr, so benchmarks can report memory growth of a whole CLI run.
 */
process.on('exit', () => {
  process.stderr.write(`\nMAXRSS_KB ${process.resourceUsage().maxRSS}\n`);
});
