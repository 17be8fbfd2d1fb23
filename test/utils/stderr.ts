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
/** The second line of cpu_feature_guard's INFO message. */
const CPU_GUARD_CONTINUATION = /^To enable the following instructions: [\w ]+, in other operations, rebuild TensorFlow with the appropriate compiler flags\.$/;

/** The lines of `stderr` that are not libtensorflow's own start-up information. */
export function unexpectedStderr(stderr: string): string[] {
  const lines = stderr.split(/\r?\n/);
  return lines.filter((line, i) => line.trim() !== '' && line.trim() !== ABSL_PREAMBLE && !ABSL_INFO.test(line) &&
    !(CPU_GUARD_CONTINUATION.test(line) && /cpu_feature_guard\.cc:\d+\]/.test(lines[i - 1] ?? '')));
}
