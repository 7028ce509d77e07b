import { createRequire } from 'node:module';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forEachLimited } from '../../src/engine/limited.js';
import { ensureSite, launchChromium, serveDist, sitePages } from '../helpers/site.js';
import { tool } from '../helpers/tools.js';

/**
 * Accessibility, as axe-core (Deque's rules engine, run in Chromium) finds it on every page of the
 * built site, in the light and the dark theme. Any violation fails, whatever its impact, unless it
 * is listed here: each exception is a rule on one element that Starlight itself renders, with why.
 */
const STARLIGHT_OWN: { rule: string; selector: string; why: string }[] = [
  {
    rule: 'label-content-name-mismatch',
    selector: 'site-search button[data-open-modal]',
    why:
      'Starlight\'s Search.astro: the search button is named by aria-label="Search" while its visible text ' +
      '(an aria-hidden "Search" and the shortcut Ctrl K in <kbd>) is hidden from the accessibility tree, ' +
      'so axe cannot match the name to the text. The button says what it does; the shortcut is in aria-keyshortcuts.',
  },
];

/** How many pages axe checks at once. */
const PAGES_AT_ONCE = 3;

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

interface Found {
  page: string;
  rule: string;
  impact: string;
  target: string;
  summary: string;
  excepted: boolean;
}

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

describe('accessibility (axe-core)', () => {
  const used = new Set<string>();

  it.each(['light', 'dark'] as const)(
    'finds no violation on any page in the %s theme',
    async (theme) => {
      const context = await browser.newContext({ colorScheme: theme });
      await context.addInitScript((t) => localStorage.setItem('starlight-theme', t), theme);
      const found: Found[] = [];
      const pages = sitePages();
      // A few pages at once: each is its own renderer process, and axe waits on layout as much as it computes.
      await forEachLimited(pages, PAGES_AT_ONCE, async (p) => {
        const page = await context.newPage();
        await page.goto(`${site.url}${p}`, { waitUntil: 'load' });
        expect(await page.evaluate(() => document.documentElement.dataset.theme), p).toBe(theme);
        await page.addScriptTag({ path: AXE });
        const results = await page.evaluate(async (exceptions) => {
          const axe = (window as unknown as { axe: typeof import('axe-core') }).axe;
          const r = await axe.run(document, { resultTypes: ['violations'] });
          return r.violations.flatMap((v) =>
            v.nodes.map((n) => {
              const target = n.target.map(String).join(' ');
              const el = document.querySelector(String(n.target[0]));
              const excepted = exceptions.some((e) => e.rule === v.id && el?.matches(e.selector));
              return { rule: v.id, impact: v.impact ?? '', target, summary: n.failureSummary ?? '', excepted };
            }),
          );
        }, STARLIGHT_OWN);
        for (const r of results) {
          found.push({ page: p, ...r });
          if (r.excepted) used.add(r.rule);
        }
        await page.close();
      });
      await context.close();
      expect(pages.length).toBeGreaterThan(10);
      const report = found
        .filter((f) => !f.excepted)
        .map((f) => `${f.page} [${f.impact}] ${f.rule}: ${f.target}\n    ${f.summary.replace(/\n/g, '\n    ')}`);
      expect(report).toEqual([]);
    },
    600_000,
  );

  it("every exception still names a violation Starlight's markup has (else it goes)", () => {
    expect([...used].sort()).toEqual(STARLIGHT_OWN.map((e) => e.rule).sort());
  });
});
