/**
 * The README and the docs stay true: every ```js block in them runs (against
 * the built package; the README's in packed.test.ts, from the installed
 * package), every relative link points to a file of the repository, the
 * README stays a user's document of at most 14 KB, and the commands it
 * gives exist in package.json.
 */
import * as cp from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..');
const docs = ['README.md', 'CONTRIBUTING.md', 'CHANGELOG.md',
  ...fs.readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const text = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');
const readme = text('README.md');
// The README's own blocks run from an installed package, their promised outputs compared (packed.test.ts).
const blocks = docs.filter((f) => f !== 'README.md').flatMap((file) => [...text(file).matchAll(/```js\n([\s\S]*?)```/g)]
  .map((m, i) => [`${file} #${i + 1}`, m[1] as string] as const));
const pkg = JSON.parse(text('package.json'));

test('the README has runnable examples and stays at most 14 KB', () => {
  expect([...readme.matchAll(/```js\n/g)].length).toBeGreaterThanOrEqual(3);
  expect(Buffer.byteLength(readme)).toBeLessThanOrEqual(14 * 1024);
});

test.each(blocks)('js block %s runs', (_where, code) => {
  const r = cp.spawnSync(process.execPath, ['-e', code], {cwd: root, encoding: 'utf8', env: process.env, timeout: 120000});
  if (r.status !== 0) throw new Error(`block failed:\n${code}\n${r.stderr}`);
  expect(r.stdout.length).toBeGreaterThan(0);
});

test.each(docs)('every relative link in %s points to a file of the repository', (file) => {
  const links = [...text(file).matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)].map((m) => m[1] as string)
    .filter((l) => !/^[a-z]+:/.test(l));
  for (const link of links) expect([link, fs.existsSync(path.resolve(root, path.dirname(file), link))]).toEqual([link, true]);
});

test('the two commands of the README are npm scripts of this package', () => {
  expect(readme).toContain('npm ci && npm run demo');
  expect(readme).toContain('npm ci && npm test');
  expect(pkg.scripts.demo).toBeDefined();
  expect(pkg.scripts.test).toBeDefined();
});
