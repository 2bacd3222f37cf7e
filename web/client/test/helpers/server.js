// A real quire-server for tests: the built binary (QUIRE_SERVER_BIN, which
// ctest sets) on 127.0.0.1 with an ephemeral port and its own data
// directory. Every start waits at most 20 s; stop() sends SIGTERM to the
// PID it started and SIGKILLs it after 10 s. Tests call stop() themselves;
// the process exit handler kills whatever is left.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
export const SERVER_BIN = process.env.QUIRE_SERVER_BIN ?? join(root, 'build/dev/server/quire-server');
export const CLI_BIN = process.env.QUIRE_CLI ?? join(root, 'build/dev/tools/quire');

const live = new Set();
const dirs = new Set();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

// A fresh directory, removed when the process exits.
export function tempDir(prefix = 'quire-web-test-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(dir);
  return dir;
}

export class Server {
  constructor({ dataDir = tempDir(), args = [] } = {}) {
    this.dataDir = dataDir;
    this.args = args;
    this.port = 0;
    this.child = null;
    this.output = '';
  }

  // Starts on `port` (0: any free port) and resolves once it listens.
  async start(port = this.port) {
    const portFile = join(this.dataDir, 'port');
    if (existsSync(portFile)) unlinkSync(portFile);
    const argv = ['--address', '127.0.0.1', '--port', String(port), '--data', this.dataDir,
                  '--port-file', portFile, ...this.args];
    const child = spawn(SERVER_BIN, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    live.add(child);
    child.stdout.on('data', (d) => (this.output += d));
    child.stderr.on('data', (d) => (this.output += d));
    child.on('exit', () => live.delete(child));
    const deadline = Date.now() + 20000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`quire-server exited: ${this.output}`);
      if (existsSync(portFile)) {
        const p = Number(readFileSync(portFile, 'utf8').trim());
        if (p > 0) {
          this.port = p;
          return this;
        }
      }
      await sleep(10);
    }
    this.kill();
    throw new Error('quire-server did not start within 20 s');
  }

  get url() {
    return `ws://127.0.0.1:${this.port}/ws`;
  }
  get http() {
    return `http://127.0.0.1:${this.port}`;
  }

  // SIGTERM, then SIGKILL after 10 s. Resolves when the process is gone.
  async stop() {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
    await gone;
    clearTimeout(timer);
  }

  kill() {
    if (this.child && this.child.exitCode === null) this.child.kill('SIGKILL');
  }

  cleanup() {
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

// Polls `pred` every 10 ms until it holds; throws after `ms`.
export async function until(pred, ms = 10000, what = 'condition') {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

// Runs the quire CLI; resolves with {code, stdout, stderr}, killing it
// after `timeoutMs`.
export function runCli(args, timeoutMs = 60000) {
  return new Promise((resolve) => {
    const child = spawn(CLI_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      live.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}
