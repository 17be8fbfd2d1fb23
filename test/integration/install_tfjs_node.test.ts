/**
 * The offline installer of tfjs-node's binding, on fake projects (the real
 * route — a 270 MB wheel and a node-gyp build — runs in every fresh `npm ci`).
 */
import * as cp from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const script = path.resolve(__dirname, '..', '..', 'bin', 'install-tfjs-node.js');

function run(args: string[], cwd: string, env: Record<string, string> = {}) {
  const r = cp.spawnSync(process.execPath, [script, ...args], {cwd, encoding: 'utf8',
    env: {...process.env, INIT_CWD: '', ...env}});
  return {status: r.status, out: `${r.stdout}${r.stderr}`};
}

const made: string[] = [];
afterAll(() => made.forEach((d) => fs.rmSync(d, {recursive: true, force: true})));

/** A project folder holding a fake @tensorflow/tfjs-node. */
function fakeProject(opts: {loads: boolean}): {root: string; pkg: string} {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tfdp-install-'));
  made.push(root);
  const pkg = path.join(root, 'node_modules', '@tensorflow', 'tfjs-node');
  fs.mkdirSync(path.join(pkg, 'scripts'), {recursive: true});
  fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({name: '@tensorflow/tfjs-node', main: 'index.js'}));
  fs.writeFileSync(path.join(pkg, 'index.js'), opts.loads ?
    "exports.getBackend = () => 'fake';" : "throw new Error('no binding');");
  // Its own install script fails, as it does where the CDN is unreachable.
  fs.writeFileSync(path.join(pkg, 'scripts', 'install.js'),
    "console.error('Error: getaddrinfo ENOTFOUND cdn'); process.exit(1);");
  return {root, pkg};
}

/** A tiny stand-in for the TensorFlow wheel (a zip with the members used). */
function fakeWheel(dir: string, members: string[]): string {
  const whl = path.join(dir, 'tensorflow_cpu-0.0.0-py3-none-any.whl');
  const code = 'import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1], "w")\n' +
    'for m in sys.argv[2:]: z.writestr(m, "x")\nz.close()';
  cp.execFileSync('python3', ['-c', code, whl, ...members]);
  return whl;
}

test('an unknown flag is a usage error (exit 2) naming the accepted flags', () => {
  const r = run(['--bogus'], os.tmpdir());
  expect(r.status).toBe(2);
  expect(r.out).toMatch(/unknown argument "--bogus".*Expected --root DIR/);
});

test('a binding that already loads is left alone', () => {
  const {root} = fakeProject({loads: true});
  const r = run(['--root', root], os.tmpdir());
  expect(r.status).toBe(0);
  expect(r.out).toMatch(/@tensorflow\/tfjs-node: ready \(already built\), backend "fake"/);
});

test('a package that is not installed is named when asked for', () => {
  const {root} = fakeProject({loads: true});
  const r = run(['--root', root, '--package', '@tensorflow/tfjs-node-gpu'], os.tmpdir());
  expect(r.status).toBe(1);
  expect(r.out).toMatch(/@tensorflow\/tfjs-node-gpu is not installed/);
});

test('when no route works it says what was tried and what to do, not a stack trace', () => {
  const {root} = fakeProject({loads: false});
  const r = run(['--root', root, '--wheel', path.join(root, 'missing.whl')], os.tmpdir());
  expect(r.status).toBe(1);
  expect(r.out).toMatch(/could not install the native binding of @tensorflow\/tfjs-node/);
  expect(r.out).toMatch(/1\. @tensorflow\/tfjs-node's own install script/);
  expect(r.out).toMatch(/missing\.whl", which does not exist/);
  expect(r.out).toMatch(/What to do:[\s\S]*--wheel/);
  expect(r.out).not.toMatch(/\n\s+at .*\.js:\d+/); // no stack trace
});

test('the offline route stages libtensorflow and headers from the wheel under deps/', () => {
  const {root, pkg} = fakeProject({loads: false});
  const whl = fakeWheel(root, ['tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2',
    'tensorflow/include/tensorflow/c/c_api.h', 'tensorflow/include/tensorflow/c/eager/c_api.h']);
  const r = run(['--root', root, '--offline', '--wheel', whl], os.tmpdir());
  // The fake build cannot produce a binding, so the install fails loudly…
  expect(r.status).toBe(1);
  expect(r.out).toMatch(/libtensorflow from tensorflow_cpu-0\.0\.0.*binding built with node-gyp/);
  expect(r.out).not.toMatch(/own install script/); // --offline skips the ordinary route
  // …after staging exactly the layout tfjs-node's build expects.
  const lib = path.join(pkg, 'deps', 'lib');
  expect(fs.readlinkSync(path.join(lib, 'libtensorflow.so.2.9.1'))).toBe('libtensorflow_cc.so.2');
  expect(fs.readlinkSync(path.join(lib, 'libtensorflow.so'))).toBe('libtensorflow_cc.so.2');
  expect(fs.readlinkSync(path.join(lib, 'libtensorflow_framework.so'))).toBe('libtensorflow_framework.so.2');
  expect(fs.existsSync(path.join(pkg, 'deps', 'include', 'tensorflow', 'c', 'eager', 'c_api.h'))).toBe(true);
});

test('a wheel without libtensorflow is reported as such', () => {
  const {root} = fakeProject({loads: false});
  const whl = fakeWheel(root, ['tensorflow/__init__.py']);
  const r = run(['--root', root, '--offline', '--wheel', whl], os.tmpdir());
  expect(r.status).toBe(1);
  expect(r.out).toMatch(/wheel lacks tensorflow\/libtensorflow_cc\.so\.2/);
});

test('as a dependency\'s postinstall (--if-root, INIT_CWD elsewhere) it does nothing', () => {
  const {root} = fakeProject({loads: false});
  const r = run(['--if-root'], root, {INIT_CWD: os.tmpdir()});
  expect(r.status).toBe(0);
  expect(r.out).toBe('');
});

test('in this project the real tfjs-node binding loads on backend tensorflow', () => {
  const r = run(['--package', '@tensorflow/tfjs-node'], path.resolve(__dirname, '..', '..'));
  expect(r.status).toBe(0);
  expect(r.out).toMatch(/ready \(already built\), backend "tensorflow"/);
});
