/**
 * The site as an administrator reads it before running anything: on a desktop and on a phone no
 * page scrolls sideways, no MDX expression is printed as text, the generated tables stay readable
 * on a phone, and every runbook has its short path, troubleshooting, what it changed and how to put
 * it back, what it is tested on and when it was checked, upstream links and an edit link. Uses the
 * site test files' one build (ensureSite).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listPlaybooks } from '../../src/site/playbooks.js';
import { repositoryUrl } from '../../src/site/repository.js';
import { testedOn } from '../../src/site/tested-on.js';
import { readTranscript } from '../../src/site/transcript.js';
import { UPSTREAM_BY_RUNBOOK } from '../../src/site/upstream.js';
import { ROOT } from '../helpers/playbook.js';
import { ensureSite, launchChromium, serveDist, sitePages } from '../helpers/site.js';
import { tool } from '../helpers/tools.js';

let browser: Browser;
let site: Awaited<ReturnType<typeof serveDist>>;

beforeAll(async () => {
  tool('chromium');
  await ensureSite();
  site = await serveDist();
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await site?.close();
});

const runbooks = listPlaybooks(ROOT);
/** The most elements a runbook page may have: past it a phone's browser crawls. */
const MAX_RUNBOOK_ELEMENTS = 5000;

async function open(ctx: BrowserContext, p: string): Promise<Page> {
  const page = await ctx.newPage();
  await page.goto(`${site.url}${p}`, { waitUntil: 'load' });
  return page;
}

const VIEWPORTS = [
  { name: 'desktop', viewport: { width: 1280, height: 900 }, isMobile: false },
  { name: 'phone', viewport: { width: 390, height: 844 }, isMobile: true },
] as const;

interface Pass {
  /** Pages wider than the window: how wide, and the first elements past its edge. */
  wide: string[];
  /** Each page's text in <main> outside code blocks (a playbook's JavaScript has braces of its own). */
  text: Map<string, string>;
}

/** One load of every page at a viewport, shared by the tests that read it (a load of each is most of their time). */
const passes = new Map<string, Promise<Pass>>();
function pass(v: (typeof VIEWPORTS)[number]): Promise<Pass> {
  let p = passes.get(v.name);
  if (!p) {
    p = loadAll(v);
    passes.set(v.name, p);
  }
  return p;
}

async function loadAll({ viewport, isMobile }: (typeof VIEWPORTS)[number]): Promise<Pass> {
  const ctx = await browser.newContext({ viewport, isMobile, hasTouch: isMobile });
  const out: Pass = { wide: [], text: new Map() };
  for (const p of sitePages()) {
    const page = await open(ctx, p);
    const r = await page.evaluate(() => {
      const w = window.innerWidth;
      const culprits = Array.from(document.querySelectorAll('main *'))
        .filter((e) => e.getBoundingClientRect().right > w + 1)
        .slice(0, 3)
        .map((e) => `${e.tagName.toLowerCase()}.${String(e.className).split(' ')[0]}`);
      // Inline code counts: `{toTbfParams(example)}` in backticks is printed as it stands.
      const main = document.querySelector('main')?.cloneNode(true) as HTMLElement | undefined;
      main?.querySelectorAll('pre, .expressive-code, script, style').forEach((e) => e.remove());
      return { scroll: document.documentElement.scrollWidth, w, culprits, text: main?.textContent ?? '' };
    });
    if (r.scroll > r.w) out.wide.push(`${p}: ${r.scroll} px in ${r.w} (${r.culprits.join(', ')})`);
    out.text.set(p, r.text);
    await page.close();
  }
  await ctx.close();
  return out;
}

describe('no page is wider than its window', () => {
  it.each(VIEWPORTS)(
    'on a $name ($viewport.width px), every page fits',
    async (v) => {
      const { wide, text } = await pass(v);
      expect(text.size).toBeGreaterThan(10);
      expect(wide).toEqual([]);
    },
    300_000,
  );
});

describe('what the pages print', () => {
  it('no MDX expression is printed as text on any page', async () => {
    const found: string[] = [];
    const { text: texts } = await pass(VIEWPORTS[0]);
    // What is searched is each page's prose: none came back empty.
    expect([...texts].filter(([, t]) => t.trim().length < 50).map(([p]) => p)).toEqual([]);
    for (const [p, text] of texts)
      for (const m of text.matchAll(/(?<!\$)\{[A-Za-z_][\w.]*(?:\([^{}]*\))?(?:\.[\w.]+)?\}/g))
        found.push(`${p}: ${m[0]}`);
    expect(found).toEqual([]);
  }, 300_000);

  it('the check above finds an expression printed as text', () => {
    const sample = 'units: {toTbfParams(example)} for the same rate; GRUB ${saved_entry} is fine';
    const hits = [...sample.matchAll(/(?<!\$)\{[A-Za-z_][\w.]*(?:\([^{}]*\))?(?:\.[\w.]+)?\}/g)].map((m) => m[0]);
    expect(hits).toEqual(['{toTbfParams(example)}']);
  });

  it("the home page's second action is a button, not plain text", async () => {
    const ctx = await browser.newContext();
    const page = await open(ctx, '/');
    const actions = await page.locator('.hero .sl-link-button, .hero a.action').evaluateAll((as) =>
      as.map((a) => {
        const s = getComputedStyle(a);
        return { text: a.textContent?.trim() ?? '', border: parseFloat(s.borderTopWidth), bg: s.backgroundColor };
      }),
    );
    expect(actions.length).toBe(2);
    for (const a of actions) expect(a.border > 0 || a.bg !== 'rgba(0, 0, 0, 0)', a.text).toBe(true);
    await ctx.close();
  });
});

describe('the diagnosis table', () => {
  it('prints a lone backtick as itself, not as the start of code that runs to the end of the cell', async () => {
    const ctx = await browser.newContext();
    const page = await open(ctx, '/reference/pygrub-releases/');
    const cell = page.locator('#cause-grub2-menuentry-quotes td[data-label="Way out"]');
    const code = await cell.locator('code').allTextContents();
    expect(code.length).toBeGreaterThan(0);
    for (const c of code) expect(c).toMatch(/^--strategy /);
    await expect(cell.textContent()).resolves.toContain('holding ", $, \\ or ` are left');
    await ctx.close();
  });
});

describe('generated tables on a phone', () => {
  it('each cell of a wide table takes the width of its card, so no word breaks', async () => {
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const narrow: string[] = [];
    const withTables = ['/reference/pygrub-releases/', '/reference/qos-live-or-restart/'];
    for (const p of [...runbooks.map((n) => `/runbooks/${n}/`), ...withTables]) {
      const page = await open(ctx, p);
      // The generated tables and every Markdown table of three columns or more; the two-column
      // options and exit-code tables stay tables.
      const cells = await page
        .locator(
          'main table:is(.xr-diagnosis, .xr-qos-model, .xr-pygrub-releases, :has(thead th:nth-child(3))):not(.xr-options, .xr-exit-codes) :is(tbody th, tbody td)',
        )
        .evaluateAll((cs) =>
          cs.map((c) => ({
            cell: c.getBoundingClientRect().width,
            table: (c.closest('table') as HTMLElement).getBoundingClientRect().width,
            label: (c as HTMLElement).dataset.label ?? c.tagName,
          })),
        );
      // Every runbook has a three-column table (what it changed); the reference pages have the big ones.
      expect(cells.length, p).toBeGreaterThan(withTables.includes(p) ? 100 : 5);
      for (const c of cells) if (c.cell < 0.8 * c.table) narrow.push(`${p} ${c.label}: ${c.cell} px of ${c.table}`);
      await page.close();
    }
    await ctx.close();
    expect(narrow).toEqual([]);
  });
});

describe('every runbook, read before it is run', () => {
  let ctx: BrowserContext;
  beforeAll(async () => {
    ctx = await browser.newContext();
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it.each(runbooks)('%s: a short path at the top with the symptom, the commands, verify and undo', async (name) => {
    const page = await open(ctx, `/runbooks/${name}/`);
    const h2 = await page.locator('main h2').allTextContents();
    expect(h2[0]).toBe('The short path');
    const short = page.locator('.xr-short-path');
    await expect(short.count()).resolves.toBe(1);
    const text = (await short.textContent()) ?? '';
    for (const part of ['Symptom.', 'The commands.', 'Verify.', 'Undo.']) expect(text).toContain(part);
    expect(await short.locator('.expressive-code').count()).toBeGreaterThanOrEqual(2);
    await page.close();
  });

  it.each(runbooks)('%s: troubleshooting, and what it changed with how to put it back', async (name) => {
    const page = await open(ctx, `/runbooks/${name}/`);
    const h2 = await page.locator('main h2').allTextContents();
    expect(h2).toContain('Troubleshooting');
    expect(h2).toContain('What this changed on your host, and how to put it back');
    const undoRows = await page
      .locator('h2#what-this-changed-on-your-host-and-how-to-put-it-back ~ table tbody tr')
      .count();
    expect(undoRows).toBeGreaterThan(2);
    await page.close();
  });

  it.each(runbooks)('%s: tested on what the suite proves, and when the page was checked', async (name) => {
    const page = await open(ctx, `/runbooks/${name}/`);
    const facts = page.locator(`.xr-facts[data-playbook="${name}"]`);
    const items = await facts.locator('.xr-tested-on li strong').allTextContents();
    expect(items).toEqual(testedOn(name, ROOT).map((p) => p.label));
    expect(items.length).toBeGreaterThan(0);
    const date = await facts.locator('time').getAttribute('datetime');
    expect(date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(Date.parse(date ?? '')).toBeLessThanOrEqual(Date.now());
    await page.close();
  });

  it.each(runbooks)('%s: links to the upstream documentation and to its own source', async (name) => {
    const page = await open(ctx, `/runbooks/${name}/`);
    const hrefs = await page
      .locator('main a, footer a')
      .evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).href));
    for (const u of UPSTREAM_BY_RUNBOOK[name] ?? []) expect(hrefs, u.title).toContain(u.href);
    expect(UPSTREAM_BY_RUNBOOK[name]?.length).toBeGreaterThan(1);
    expect(hrefs).toContain(`${repositoryUrl(ROOT)}/edit/main/content/docs/runbooks/${name}.mdx`);
    await page.close();
  });

  it.each(runbooks)('%s: every step shows its commands, and the runs they come from are named once', async (name) => {
    const runs = readTranscript(name, ROOT)?.scenarios.map((s) => s.run) ?? [];
    expect(runs.length).toBeGreaterThan(0);
    const page = await open(ctx, `/runbooks/${name}/`);
    await expect(page.locator('.xr-recorded-runs').count()).resolves.toBe(1);
    await expect(page.locator('.xr-recorded-runs li code').allTextContents()).resolves.toEqual(runs);
    const named = await page.locator('main code').allTextContents();
    // Named in the list only (two runs may share a command line: the same run on another image).
    for (const run of runs)
      expect(
        named.filter((c) => c === run),
        run,
      ).toHaveLength(runs.filter((r) => r === run).length);
    // Each step shows the commands it ran, or says why none were recorded.
    const steps = await page.locator('.xr-step').evaluateAll((ss) =>
      ss.map((s) => ({
        id: s.id,
        commands: s.querySelectorAll('.expressive-code pre .ec-line').length,
        none: s.querySelector('.xr-step-none')?.textContent ?? '',
      })),
    );
    expect(steps.length).toBeGreaterThan(2);
    expect(steps.filter((s) => s.commands === 0 && !s.none).map((s) => s.id)).toEqual([]);
    expect(steps.filter((s) => s.commands > 0).length).toBeGreaterThan(0);
    await page.close();
  });

  it.each(runbooks)(`%s has at most ${MAX_RUNBOOK_ELEMENTS} elements`, async (name) => {
    const page = await open(ctx, `/runbooks/${name}/`);
    const n = await page.evaluate(() => document.getElementsByTagName('*').length);
    expect(n).toBeLessThanOrEqual(MAX_RUNBOOK_ELEMENTS);
    await page.close();
  });
});

describe('the pygrub page says where each release looks first', () => {
  const oracle = JSON.parse(readFileSync(path.join(ROOT, 'test/fixtures/oracle/pygrub/results.json'), 'utf8')) as {
    groups: { tags: string[]; config_search_order: string[] }[];
  };

  it('menu.lst first for 4.0.0 to 4.1.6.1, grub.cfg first from 4.2.0, as the oracle recorded', async () => {
    const ctx = await browser.newContext();
    const page = await open(ctx, '/runbooks/pygrub-fix/');
    const rows = await page.locator('ul.xr-search-order li').evaluateAll((ls) =>
      ls.map((l) => ({
        releases: l.querySelector('strong')?.textContent ?? '',
        paths: l.querySelector('code')?.textContent ?? '',
      })),
    );
    await ctx.close();
    const orders = new Set(oracle.groups.map((g) => g.config_search_order.join(', ')));
    expect(rows.map((r) => r.paths).sort()).toEqual([...orders].sort());
    const first = (tag: string) => oracle.groups.find((g) => g.tags.includes(tag))?.config_search_order.join(', ');
    expect(rows.find((r) => r.releases.startsWith('4.0.0'))?.paths).toBe(first('RELEASE-4.0.0'));
    expect(rows.find((r) => r.releases.startsWith('4.0.0'))?.paths).toMatch(/^\/boot\/grub\/menu\.lst/);
    expect(rows.find((r) => r.releases.startsWith('4.2.0'))?.paths).toMatch(/^\/boot\/grub\/grub\.cfg/);
  });
});
