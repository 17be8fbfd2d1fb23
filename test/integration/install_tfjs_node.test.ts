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

/**
 * A tiny stand-in for the TensorFlow wheel: the members used, with a METADATA
 * naming `name` and a RECORD of their sha256 hashes (`corrupt` lists members
 * whose recorded hash is wrong).
 */
function fakeWheel(dir: string, members: string[], opts: {name?: string; corrupt?: string[]} = {}): string {
  const whl = path.join(dir, 'tensorflow_cpu-0.0.0-py3-none-any.whl');
  const code = `import base64, hashlib, json, sys, zipfile
whl, name, corrupt, members = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4:]
z = zipfile.ZipFile(whl, "w")
record = []
for m in members:
    z.writestr(m, "x")
    digest = hashlib.sha256(b"y" if m in corrupt else b"x").digest()
    record.append("%s,sha256=%s,1" % (m, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()))
nl = chr(10)
z.writestr("tensorflow_cpu-0.0.0.dist-info/METADATA", nl.join(["Metadata-Version: 2.1", "Name: " + name, "Version: 0.0.0", ""]))
z.writestr("tensorflow_cpu-0.0.0.dist-info/RECORD", nl.join(record) + nl)
z.close()`;
  cp.execFileSync('python3', ['-c', code, whl, opts.name ?? 'tensorflow-cpu', JSON.stringify(opts.corrupt ?? []), ...members]);
  return whl;
}

const LIBS = ['tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2'];

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

test('a wheel entry that would land outside deps/ (zip-slip) is refused and not written', () => {
  const {root, pkg} = fakeProject({loads: false});
  const whl = fakeWheel(root, [...LIBS, 'tensorflow/include/tensorflow/c/c_api.h', 'tensorflow/include/../../../../escaped.h']);
  const r = run(['--root', root, '--offline', '--wheel', whl], os.tmpdir());
  expect(r.status).toBe(1);
  expect(r.out).toMatch(/refused 'tensorflow\/include\/\.\.\/\.\.\/\.\.\/\.\.\/escaped\.h': it would be written outside .*deps/);
  expect(fs.existsSync(path.resolve(pkg, 'deps', 'include', '..', '..', '..', '..', 'escaped.h'))).toBe(false);
  expect(fs.existsSync(path.join(root, 'escaped.h'))).toBe(false);
});

test('a wheel whose bytes do not match its RECORD, or that is not TensorFlow, is refused', () => {
  const {root} = fakeProject({loads: false});
  const altered = fakeWheel(root, [...LIBS, 'tensorflow/include/c_api.h'], {corrupt: ['tensorflow/libtensorflow_cc.so.2']});
  let r = run(['--root', root, '--offline', '--wheel', altered], os.tmpdir());
  expect(r.status).toBe(1);
  expect(r.out).toMatch(/refused 'tensorflow\/libtensorflow_cc\.so\.2': its bytes do not match the sha256 in the wheel's RECORD/);
  const other = fakeWheel(root, [...LIBS, 'tensorflow/include/c_api.h'], {name: 'evil-package'});
  r = run(['--root', root, '--offline', '--wheel', other], os.tmpdir());
  expect(r.out).toMatch(/the wheel is 'evil-package', not TensorFlow/);
});

test('TFJS_TF_WHEEL_SPEC is taken only as a pinned TensorFlow requirement, never as a pip option', () => {
  const {root} = fakeProject({loads: false});
  const r = run(['--root', root, '--offline'], os.tmpdir(),
    {TFJS_TF_WHEEL_SPEC: '--index-url=http://127.0.0.1:1/simple', XDG_CACHE_HOME: path.join(root, 'cache')});
  expect(r.status).toBe(1);
  expect(r.out).toMatch(/TFJS_TF_WHEEL_SPEC must be a TensorFlow package pinned to a version, such as tensorflow-cpu==2\.21\.0, but is "--index-url=/);
  expect(r.out).not.toMatch(/fetching/);
});

test('with no tfjs-node installed it fails loudly with the next step (0.4.0 printed nothing and exited 0)', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tfdp-empty-'));
  made.push(root);
  fs.writeFileSync(path.join(root, 'package.json'), '{}');
  const r = run(['--root', root], os.tmpdir());
  expect(r.status).toBe(1);
  expect(r.out).toMatch(/neither @tensorflow\/tfjs-node nor @tensorflow\/tfjs-node-gpu is installed in .*Next step: add "allowScripts"/);
});

test('the command line: --help prints the usage (exit 0), no command or an unknown one is a usage error (exit 2)', () => {
  const cli = path.resolve(__dirname, '..', '..', 'bin', 'tfjs-drop-path.js');
  const call = (args: string[]) => cp.spawnSync(process.execPath, [cli, ...args], {encoding: 'utf8'});
  let r = call(['--help']);
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/^usage: tfjs-drop-path <command>[\s\S]*install-tfjs-node[\s\S]*keras-to-tfjs[\s\S]*tfjs-to-keras/);
  r = call([]);
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/no command given\.\nusage:/);
  r = call(['frob']);
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/unknown command "frob"/);
  for (const command of ['keras-to-tfjs', 'tfjs-to-keras', 'install-tfjs-node']) {
    r = call([command, '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/usage|install-tfjs-node/i);
  }
});
