import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describePlaybook, listPlaybooks } from '../../src/site/playbooks.js';
import { measureSite } from '../../src/site/weight.js';
import { childEnv, ROOT } from '../helpers/playbook.js';
import { DIST, ensureSite, launchChromium, serveDist, sitePages } from '../helpers/site.js';
import { tool } from '../helpers/tools.js';

export const ARTIFACTS = path.join(ROOT, 'test-artifacts');
const BASELINE = path.join(ROOT, 'test/fixtures/starlight-baseline');

let browser: Browser;
let context: BrowserContext;
let site: Awaited<ReturnType<typeof serveDist>>;

beforeAll(async () => {
  tool('chromium');
  await ensureSite();
  site = await serveDist();
  browser = await launchChromium();
  context = await browser.newContext();
});
afterAll(async () => {
  await browser?.close();
  await site?.close();
});

async function open(p: string, ctx: BrowserContext = context): Promise<Page> {
  const page = await ctx.newPage();
  await page.goto(`${site.url}${p}`, { waitUntil: 'load' });
  return page;
}

describe('the built site', () => {
  it('has its index page, a Pagefind index, a sitemap and a 404 page', () => {
    expect(existsSync(path.join(DIST, 'index.html'))).toBe(true);
    expect(existsSync(path.join(DIST, 'pagefind/pagefind.js'))).toBe(true);
    expect(readdirSync(path.join(DIST, 'pagefind')).some((f) => f.startsWith('pagefind-entry'))).toBe(true);
    expect(readFileSync(path.join(DIST, 'sitemap-index.xml'), 'utf8')).toContain('sitemap-0.xml');
    expect(readFileSync(path.join(DIST, '404.html'), 'utf8')).toContain('Page not found');
  });

  it('shows the landing page with its title, sidebar and search box', async () => {
    const page = await open('/');
    expect(await page.title()).toContain('xen-runbooks');
    await expect(page.locator('h1').first().textContent()).resolves.toContain('Runbooks that run');
    const sidebar = page.locator('nav[aria-label="Main"]');
    await expect(sidebar.textContent()).resolves.toMatch(/Runbooks[\s\S]*Reference/);
    expect(await page.locator('site-search button[data-open-modal]').count()).toBe(1);
    await page.close();
  });

  it('every page loads with no console error and no failed request', async () => {
    const problems: string[] = [];
    const visit = async (p: string): Promise<void> => {
      const page = await context.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`${p}: console: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`${p}: page error: ${e.message}`));
      page.on('requestfailed', (r) => problems.push(`${p}: failed request ${r.url()}: ${r.failure()?.errorText}`));
      page.on('response', (r) => {
        if (r.status() >= 400) {
          problems.push(`${p}: HTTP ${r.status()} for ${r.url()}`);
        }
      });
      await page.goto(`${site.url}${p}`, { waitUntil: 'networkidle' });
      await page.close();
    };
    // Four pages at a time: each waits half a second of network quiet after it has loaded.
    const queue = sitePages();
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let p = queue.shift(); p !== undefined; p = queue.shift()) await visit(p);
      }),
    );
    expect(problems.sort()).toEqual([]);
    expect(sitePages().length).toBeGreaterThan(3);
  });

  it('every internal link and anchor resolves', () => {
    const ids = new Map<string, Set<string>>();
    const html = new Map<string, string>();
    for (const p of sitePages()) {
      const file = path.join(DIST, p.endsWith('/') ? `${p}index.html` : p);
      const text = readFileSync(file, 'utf8');
      html.set(p, text);
      ids.set(p, new Set([...text.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1] as string)));
    }
    const broken: string[] = [];
    for (const [p, text] of html) {
      for (const m of text.matchAll(/<a\b[^>]*\shref="([^"]+)"/g)) {
        const href = (m[1] as string).replace(/&amp;/g, '&');
        if (/^(https?:|mailto:)/.test(href)) continue;
        const u = new URL(href, `http://site${p}`);
        if (u.host !== 'site') continue;
        const target = u.pathname;
        const known = html.has(target) || existsSync(path.join(DIST, decodeURIComponent(target)));
        if (!known) {
          broken.push(`${p} → ${href} (no such page)`);
          continue;
        }
        const frag = decodeURIComponent(u.hash.slice(1));
        if (frag && html.has(target) && !ids.get(target)?.has(frag)) broken.push(`${p} → ${href} (no #${frag} there)`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('offers dark mode and keeps it', async () => {
    const page = await open('/');
    await page.locator('starlight-theme-select select').first().selectOption('dark');
    await expect(page.evaluate(() => document.documentElement.dataset.theme)).resolves.toBe('dark');
    await page.reload();
    await expect(page.evaluate(() => document.documentElement.dataset.theme)).resolves.toBe('dark');
    await page.close();
  });

  it('serves the 404 page for an unknown address', async () => {
    const page = await context.newPage();
    const res = await page.goto(`${site.url}/no/such/page/`);
    expect(res?.status()).toBe(404);
    await expect(page.locator('h1').first().textContent()).resolves.toContain('Page not found');
    await page.close();
  });

  it('shows the menu on a phone-sized screen', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const page = await open('/runbooks/pygrub-fix/', phone);
    const sidebar = page.locator('#starlight__sidebar');
    await expect(sidebar.isVisible()).resolves.toBe(false);
    const toggle = page.locator('starlight-menu-button button');
    await expect(toggle.isVisible()).resolves.toBe(true);
    await toggle.click();
    await sidebar.waitFor({ state: 'visible' });
    await expect(sidebar.locator('a[href="/runbooks/xcp-install/"]').isVisible()).resolves.toBe(true);
    await phone.close();
  });
});

describe('search', () => {
  async function search(term: string): Promise<string[]> {
    const page = await open('/');
    await page.locator('site-search button[data-open-modal]').click();
    const input = page.locator('#starlight__search input.pagefind-ui__search-input');
    await input.waitFor({ state: 'visible' });
    await input.fill(term);
    await page
      .locator('#starlight__search .pagefind-ui__result-link')
      .first()
      .waitFor({ state: 'visible', timeout: 15_000 });
    const hrefs = await page
      .locator('#starlight__search .pagefind-ui__result-link')
      .evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).pathname));
    await page.close();
    return hrefs;
  }

  it.each([
    ['idempotent', '/'],
    ['msdos1', '/runbooks/pygrub-fix/'],
    ['sr-create', '/runbooks/xcp-install/'],
    ['maxmem', '/runbooks/windows-hvm/'],
    ['sched-credit', '/runbooks/xen-qos/'],
  ])('finds %s on %s', async (term, page) => {
    expect(await search(term)).toContain(page);
  });
});

const runbooks = listPlaybooks(ROOT);
/**
 * A runbook page's HTML, at most 200 KiB; Starlight's own pages weigh about 40 KB. A runbook shows
 * every step's recorded commands, edits and (folded) output and code: the largest, pygrub-fix and
 * xcp-install (both platforms' commands and output side by side), are about 198 KiB. Tables a
 * reader looks things up in (pygrub's causes and releases, what xl, xe and xm change live) are
 * reference pages of their own, and the runs the commands were recorded from are named once at the
 * top of the steps. Fold or move before raising it.
 */
const MAX_RUNBOOK_HTML = 200 * 1024;

describe('runbook pages', () => {
  it.each(runbooks)('%s has a Run it box, its options table, the exit codes and related runbooks', async (name) => {
    const page = await open(`/runbooks/${name}/`);
    const runIt = page.locator(`.xr-runit[data-playbook="${name}"]`);
    await expect(runIt.count()).resolves.toBe(1);
    await expect(runIt.textContent()).resolves.toContain(`playbooks/${name}.mjs`);
    await expect(page.locator(`table.xr-options[data-playbook="${name}"]`).count()).resolves.toBe(1);
    await expect(page.locator('table.xr-exit-codes').count()).resolves.toBe(1);
    const related = await page
      .locator('.xr-related a')
      .evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).pathname));
    expect(related.length).toBeGreaterThan(0);
    expect(related).not.toContain(`/runbooks/${name}/`);
    // Code is highlighted by the site's Shiki theme: its tokens are painted in several colours.
    const colours = await page
      .locator('.xr-step .expressive-code pre span[class^="ec-t"]')
      .evaluateAll((spans) => [...new Set(spans.map((e) => getComputedStyle(e).color))]);
    expect(colours.length).toBeGreaterThan(4);
    await page.close();
  });

  it.each(runbooks)('the copy button of %s puts the run command on the clipboard', async (name) => {
    const ctx = await browser.newContext();
    await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: site.url });
    const page = await open(`/runbooks/${name}/`, ctx);
    const block = page.locator(`.xr-runit[data-playbook="${name}"] .expressive-code`).first();
    await block.hover();
    await block.locator('button[data-code]').click();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    expect(copied).toMatch(new RegExp(`^npx zx playbooks/${name}\\.mjs`));
    await ctx.close();
  });

  it.each(runbooks)('a screenshot of %s is written to the artifacts folder', async (name) => {
    const dir = path.join(ARTIFACTS, 'screenshots');
    mkdirSync(dir, { recursive: true });
    const page = await open(`/runbooks/${name}/`);
    const file = path.join(dir, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    expect(readFileSync(file).subarray(1, 4).toString()).toBe('PNG');
    await page.close();
  });

  it.each(runbooks)('%s links to the page of its whole source, which shows every line of it', async (name) => {
    const runbook = await open(`/runbooks/${name}/`);
    const links = await runbook
      .locator(`.xr-source-link[data-playbook="${name}"] a`)
      .evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).pathname));
    expect(links).toEqual([`/playbooks/${name}/source/`]);
    // The runbook shows steps, not the whole file a second time.
    await expect(runbook.locator(`figcaption:text-is("playbooks/${name}.mjs")`).count()).resolves.toBe(0);
    await runbook.close();

    const page = await open(`/playbooks/${name}/source/`);
    const block = page.locator(`.xr-source[data-playbook="${name}"] .expressive-code`);
    await expect(block.locator('figcaption').textContent()).resolves.toContain(`playbooks/${name}.mjs`);
    const shown = await block.locator('pre .ec-line').evaluateAll((ls) => ls.map((l) => l.textContent ?? ''));
    const lines = readFileSync(path.join(ROOT, 'playbooks', `${name}.mjs`), 'utf8')
      .replace(/\n$/, '')
      .split('\n');
    expect(shown.length).toBe(lines.length);
    expect(shown.map((l) => l.trimEnd())).toEqual(lines.map((l) => l.trimEnd()));
    const steps = await page
      .locator('.xr-source-steps a')
      .evaluateAll((as) => as.map((a) => `${(a as HTMLAnchorElement).pathname}${(a as HTMLAnchorElement).hash}`));
    expect(steps).toEqual(describePlaybook(name, ROOT).steps.map((s) => `/runbooks/${name}/#step-${s.id}`));
    await page.close();
  });

  it('the playbooks page lists every playbook with its options', async () => {
    const page = await open('/reference/playbooks/');
    const listed = await page
      .locator('section.xr-playbook')
      .evaluateAll((s) => s.map((e) => (e as HTMLElement).dataset.playbook));
    expect(listed).toEqual(runbooks);
    const sources = await page
      .locator('section.xr-playbook a[href$="/source/"]')
      .evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).pathname));
    expect(sources).toEqual(runbooks.map((n) => `/playbooks/${n}/source/`));
    for (const name of runbooks) {
      await expect(page.locator(`table.xr-options[data-playbook="${name}"] tbody tr`).count()).resolves.toBeGreaterThan(
        0,
      );
    }
    await page.close();
  });
});

describe('page weight', () => {
  it('no runbook page is over 200 KiB of HTML (the whole playbook and the reference tables are on pages of their own)', () => {
    const runbookPages = measureSite(DIST).filter((p) => p.page.startsWith('/runbooks/'));
    expect(runbookPages.map((p) => p.page)).toEqual(runbooks.map((n) => `/runbooks/${n}/`));
    const over = runbookPages.filter((p) => p.html > MAX_RUNBOOK_HTML).map((p) => `${p.page}: ${p.html} bytes`);
    expect(over).toEqual([]);
  });

  it("no page ships more JavaScript than Starlight's own page", () => {
    const r = spawnSync('npx', ['astro', 'build', '--root', BASELINE], {
      cwd: ROOT,
      env: childEnv(),
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    const budget = Math.max(...measureSite(path.join(BASELINE, 'dist')).map((p) => p.js));
    expect(budget).toBeGreaterThan(1000);
    const over = measureSite(DIST)
      .filter((p) => p.js > budget)
      .map((p) => `${p.page}: ${p.js} bytes of JavaScript (Starlight's own: ${budget})`);
    expect(over).toEqual([]);
  });
});
