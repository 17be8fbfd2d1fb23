import * as cp from 'child_process';
import * as path from 'path';

export const ROOT = path.resolve(__dirname, '..', '..');

/** Runs a node script of this project (against the built package). */
export function runNode(args: string[], opts: {timeout?: number} = {}) {
  const r = cp.spawnSync(process.execPath, args, {cwd: ROOT, encoding: 'utf8',
    env: {...process.env, TF_CPP_MIN_LOG_LEVEL: '3'}, timeout: opts.timeout ?? 120000});
  return {status: r.status, stdout: r.stdout, stderr: r.stderr};
}
