/**
 * Page weight of a built site: the bytes of HTML, CSS and JavaScript each page makes the
 * browser load before anyone clicks. Scripts loaded only on demand (dynamic import(), such as
 * the search UI when the search box opens) are not counted.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

export interface PageWeight {
  /** The page's path on the site, e.g. `/runbooks/pygrub-fix/`. */
  page: string;
  html: number;
  /** The HTML as a web server sends it compressed (gzip -9). */
  htmlGzip: number;
  css: number;
  js: number;
  /** The JavaScript files (site paths) and inline scripts counted. */
  scripts: string[];
}

function htmlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === '_astro' || e.name === 'pagefind' ? [] : htmlFiles(p);
    return e.name.endsWith('.html') ? [p] : [];
  });
}

const STATIC_IMPORT = /(?:^|[;\s}])import\s*(?:[\w*${}\s,]+from\s*)?["']([^"']+)["']/g;

/** The file and every module it imports statically, once each. */
function moduleClosure(dist: string, sitePath: string, seen: Set<string>): number {
  if (seen.has(sitePath)) return 0;
  seen.add(sitePath);
  const file = path.join(dist, sitePath);
  if (!existsSync(file)) throw new Error(`a page loads ${sitePath}, which is not in the built site`);
  const code = readFileSync(file, 'utf8');
  let bytes = Buffer.byteLength(code);
  for (const m of code.matchAll(STATIC_IMPORT)) {
    const spec = m[1] as string;
    if (!spec.startsWith('.') && !spec.startsWith('/')) continue;
    bytes += moduleClosure(dist, path.posix.resolve(path.posix.dirname(sitePath), spec), seen);
  }
  return bytes;
}

function inlineModuleImports(dist: string, code: string, seen: Set<string>): number {
  let bytes = 0;
  for (const m of code.matchAll(STATIC_IMPORT)) {
    const spec = m[1] as string;
    if (spec.startsWith('/')) bytes += moduleClosure(dist, spec, seen);
  }
  return bytes;
}

export function measurePage(dist: string, htmlFile: string): PageWeight {
  const html = readFileSync(htmlFile, 'utf8');
  const rel = path.relative(dist, htmlFile).split(path.sep).join('/');
  const page = `/${rel.replace(/(^|\/)index\.html$/, '$1').replace(/\.html$/, '')}`;
  const seen = new Set<string>();
  const scripts: string[] = [];
  let js = 0;
  for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)) {
    const attrs = m[1] ?? '';
    if (/type=["']?application\/(ld\+)?json/.test(attrs)) continue;
    const src = /\bsrc=["']?([^"'\s>]+)/.exec(attrs)?.[1];
    if (src) {
      if (!src.startsWith('/')) continue; // no third-party scripts are expected; they would show here
      js += moduleClosure(dist, src, seen);
      scripts.push(src);
    } else {
      const code = m[2] ?? '';
      js += Buffer.byteLength(code) + inlineModuleImports(dist, code, seen);
      scripts.push(`inline:${Buffer.byteLength(code)}`);
    }
  }
  for (const m of html.matchAll(/<link\b[^>]*rel=["']?modulepreload["']?[^>]*>/g)) {
    const href = /\bhref=["']?([^"'\s>]+)/.exec(m[0])?.[1];
    if (href?.startsWith('/')) js += moduleClosure(dist, href, seen);
  }
  let css = 0;
  for (const m of html.matchAll(/<link\b[^>]*rel=["']?stylesheet["']?[^>]*>/g)) {
    const href = /\bhref=["']?([^"'\s>]+)/.exec(m[0])?.[1];
    if (href?.startsWith('/')) css += statSync(path.join(dist, href)).size;
  }
  for (const m of html.matchAll(/<style\b[^>]*>([\s\S]*?)<\/style>/g)) css += Buffer.byteLength(m[1] ?? '');
  return {
    page,
    html: Buffer.byteLength(html),
    htmlGzip: gzipSync(html, { level: 9 }).length,
    css,
    js,
    scripts: [...seen, ...scripts.filter((s) => s.startsWith('inline:'))],
  };
}

/** Every page of a built site, sorted by path. */
export function measureSite(dist: string): PageWeight[] {
  return htmlFiles(dist)
    .map((f) => measurePage(dist, f))
    .sort((a, b) => a.page.localeCompare(b.page));
}
