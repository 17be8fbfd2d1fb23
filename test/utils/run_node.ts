import * as cp from 'child_process';
import * as path from 'path';

export const ROOT = path.resolve(__dirname, '..', '..');

/**
 * Runs a node script of this project (against the built package) in the
 * environment a user's shell would give it: without the libtensorflow logging
 * variables that the test runner itself sets, so that what a script prints is
 * what a user sees.
 */
export function runNode(args: string[], opts: {timeout?: number; env?: Record<string, string>} = {}) {
  const env = {...process.env, ...opts.env};
  delete env.TF_CPP_MIN_LOG_LEVEL;
  delete env.TF_ENABLE_ONEDNN_OPTS;
  const r = cp.spawnSync(process.execPath, args, {cwd: ROOT, encoding: 'utf8', env, timeout: opts.timeout ?? 120000});
  return {status: r.status, stdout: r.stdout, stderr: r.stderr};
}
