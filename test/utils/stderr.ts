/**
 * libtensorflow writes its own start-up lines to stderr, and which ones depends
 * on the CPU (AVX-512 machines print an absl preamble, a oneDNN note and a
 * cpu_feature_guard note; others print fewer or none). The examples quiet them,
 * but a test must not depend on the machine it runs on: it drops exactly those
 * informational lines and nothing else, so a warning of ours, a deprecation
 * warning or a stack trace still fails it.
 */

/** absl's log format at INFO level: `I1129 10:33:26.123456    3088 port.cc:153] …` or `I0000 00:00:…`. */
const ABSL_INFO = /^I\d{4} \d{2}:\d{2}:\d+\.\d+\s+\d+ [\w.-]+\.(?:cc|h):\d+\] /;
const ABSL_PREAMBLE = 'WARNING: All log messages before absl::InitializeLog() is called are written to STDERR';

/** The lines of `stderr` that are not libtensorflow's own start-up information. */
export function unexpectedStderr(stderr: string): string[] {
  return stderr.split(/\r?\n/).filter((line) => line.trim() !== '' && line.trim() !== ABSL_PREAMBLE && !ABSL_INFO.test(line));
}
