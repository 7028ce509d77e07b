import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  createReadStream,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium, type Browser } from 'playwright-core';
import { childEnv, ROOT } from './playbook.js';
import { tool } from './tools.js';
import { searchIndexProblem } from '../../scripts/check-search-index.mjs';

export const DIST = path.join(ROOT, 'dist');

/**
 * Build the site as `npm run build` does (the engine already compiled), in a child process with NODE_ENV=production:
 * built from inside vitest (NODE_ENV=test) the site would ship without its search UI.
 */
export function buildSite(): Promise<{ output: string }> {
  const env = childEnv();
  return new Promise((resolve, reject) => {
    // `npm test` compiled the engine before the suite started; recompiling it here would rewrite
    // lib/ under the feet of test files running playbooks in parallel.
    const child = spawn('npx', ['astro', 'build'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve({ output })
        : reject(new Error(`astro build failed (exit ${code}):\n${output.slice(-4000)}`)),
    );
  });
}

/** What the built site is made from: the content, the components and styles, the playbooks and
 * the compiled engine they describe themselves with, the site's configuration and dependencies. */
const SITE_INPUTS = [
  'content',
  'src',
  'playbooks',
  'lib',
  'astro.config.mjs',
  'ec.config.mjs',
  'package.json',
  'package-lock.json',
  // The site serves the Ansible collection built from here, and its task snippets come from the contract.
  'ansible_collections',
  'scripts/gen-ansible-contract.mjs',
  'tsconfig.json',
  'tsconfig.site.json',
];
/** The digest of the inputs dist/ was built from (kept out of dist/, which is what a host serves). */
const STAMP = path.join(ROOT, 'node_modules/.cache/xen-runbooks-site.sha256');
const LOCK = path.join(ROOT, 'node_modules/.cache/xen-runbooks-site-build.lock');

/** One digest of every input file (path and bytes), so that any change means a new build. */
export function siteInputsDigest(): string {
  const hash = createHash('sha256');
  const add = (rel: string): void => {
    const abs = path.join(ROOT, rel);
    if (!existsSync(abs)) return;
    if (statSync(abs).isDirectory()) {
      for (const e of readdirSync(abs).sort()) add(path.join(rel, e));
      return;
    }
    hash.update(`${rel}\0`).update(readFileSync(abs)).update('\0');
  };
  for (const rel of SITE_INPUTS) add(rel);
  return hash.digest('hex');
}

function lockHolderAlive(): boolean {
  const pidFile = path.join(LOCK, 'pid');
  // Between taking the lock and writing its pid, the holder is alive by definition.
  if (!existsSync(pidFile)) {
    const lock = statSync(LOCK, { throwIfNoEntry: false });
    return !lock || Date.now() - lock.mtimeMs < 10_000;
  }
  try {
    process.kill(Number(readFileSync(pidFile, 'utf8')), 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The built site in dist/, built once for all the test files that need it: the first to ask
 * builds it under a lock, the others wait and reuse it. A dist/ built from the same inputs (its
 * stamp says so) is used as it is; any change to an input builds it again.
 */
export async function ensureSite(): Promise<void> {
  mkdirSync(path.dirname(LOCK), { recursive: true });
  for (;;) {
    try {
      mkdirSync(LOCK);
    } catch {
      // Another test file is building: wait for it, or take over from one that died.
      if (existsSync(LOCK) && !lockHolderAlive()) rmSync(LOCK, { recursive: true, force: true });
      await sleep(500);
      continue;
    }
    try {
      writeFileSync(path.join(LOCK, 'pid'), String(process.pid));
      const digest = siteInputsDigest();
      const built = existsSync(STAMP) && readFileSync(STAMP, 'utf8') === digest;
      if (!built || !existsSync(path.join(DIST, 'index.html'))) {
        rmSync(STAMP, { force: true });
        await buildSite();
        // Pagefind once wrote an empty entry file under load (scripts/check-search-index.mjs): built again.
        if (searchIndexProblem(DIST)) await buildSite();
        const problem = searchIndexProblem(DIST);
        if (problem) throw new Error(`astro build wrote a broken search index twice: ${problem}`);
        writeFileSync(STAMP, digest);
      }
      return;
    } finally {
      rmSync(LOCK, { recursive: true, force: true });
    }
  }
}

/** Every HTML page of the built site, as site paths (`/`, `/runbooks/pygrub-fix/`). */
export function sitePages(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) return e.name === '_astro' || e.name === 'pagefind' ? [] : walk(p);
      return e.name.endsWith('.html') ? [p] : [];
    });
  return walk(DIST)
    .map((f) => `/${path.relative(DIST, f).split(path.sep).join('/')}`)
    .map((p) => p.replace(/index\.html$/, ''))
    .sort();
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.xml': 'application/xml',
  '.txt': 'text/plain',
  '.wasm': 'application/wasm',
  '.pf_meta': 'application/octet-stream',
  '.pf_index': 'application/octet-stream',
  '.pf_fragment': 'application/octet-stream',
  '.pagefind': 'application/octet-stream',
};

/** Serve dist/ on 127.0.0.1 as a static host would: /x/ → /x/index.html, unknown → 404.html. */
export async function serveDist(dir = DIST): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    let p = path.join(dir, decodeURIComponent(u.pathname));
    if (!p.startsWith(dir)) {
      res.writeHead(403).end();
      return;
    }
    if (existsSync(p) && statSync(p).isDirectory()) p = path.join(p, 'index.html');
    if (!existsSync(p)) {
      res.writeHead(404, { 'content-type': TYPES['.html'] });
      createReadStream(path.join(dir, '404.html')).pipe(res);
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(p)] ?? 'application/octet-stream' });
    createReadStream(p).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Debian's Chromium through playwright-core; never a downloaded browser. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: tool('chromium'),
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
