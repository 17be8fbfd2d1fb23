/**
 * The README stays true: every ```js block in it runs (against the built
 * package), and the commands it gives exist in package.json.
 */
import * as cp from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1] as string);
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

test('the README has runnable examples', () => {
  expect(blocks.length).toBeGreaterThanOrEqual(3);
});

test.each(blocks.map((code, i) => [i + 1, code]))('README js block %i runs', (_i, code) => {
  const r = cp.spawnSync(process.execPath, ['-e', code as string], {cwd: root, encoding: 'utf8',
    env: process.env, timeout: 120000});
  if (r.status !== 0) throw new Error(`block failed:\n${code}\n${r.stderr}`);
  expect(r.stdout.length).toBeGreaterThan(0);
});

test('the two commands of the README are npm scripts of this package', () => {
  expect(readme).toContain('npm ci && npm run demo');
  expect(readme).toContain('npm ci && npm test');
  expect(pkg.scripts.demo).toBeDefined();
  expect(pkg.scripts.test).toBeDefined();
});
