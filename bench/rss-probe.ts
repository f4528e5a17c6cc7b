/**
 * Preloaded (`node -r out/bench/rss-probe.js ...`) into a measured process: at exit it prints the peak RSS
 * in KiB and the CPU time (user + system, microseconds) on stderr, so benchmarks can report memory growth
 * and CPU cost of a whole CLI run.
 */
process.on('exit', () => {
  const u = process.resourceUsage();
  process.stderr.write(`\nMAXRSS_KB ${u.maxRSS}\nCPU_US ${u.userCPUTime + u.systemCPUTime}\n`);
});
