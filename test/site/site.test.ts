import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSite, DIST, launchChromium, serveDist } from '../helpers/site.js';
import { tool } from '../helpers/tools.js';

let browser: Browser;
let site: Awaited<ReturnType<typeof serveDist>>;

beforeAll(async () => {
  tool('chromium');
  await buildSite();
  site = await serveDist();
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await site?.close();
});

async function open(p: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${site.url}${p}`, { waitUntil: 'load' });
  return page;
}

describe('the built site', () => {
  it('has its index page, a Pagefind index and a sitemap', () => {
    expect(existsSync(path.join(DIST, 'index.html'))).toBe(true);
    expect(existsSync(path.join(DIST, 'pagefind/pagefind.js'))).toBe(true);
    expect(readdirSync(path.join(DIST, 'pagefind')).some((f) => f.startsWith('pagefind-entry'))).toBe(true);
    expect(readFileSync(path.join(DIST, 'sitemap-index.xml'), 'utf8')).toContain('sitemap-0.xml');
  });

  it('shows the landing page with its title, sidebar and search box', async () => {
    const page = await open('/');
    expect(await page.title()).toContain('xen-runbooks');
    await expect(page.locator('h1').first().textContent()).resolves.toContain('xen-runbooks');
    const sidebar = page.locator('nav[aria-label="Main"]');
    await expect(sidebar.textContent()).resolves.toMatch(/Runbooks[\s\S]*Reference/);
    expect(await page.locator('site-search button[data-open-modal]').count()).toBe(1);
    await page.close();
  });

  it('finds a word of the landing page through the search box', async () => {
    const page = await open('/');
    await page.locator('site-search button[data-open-modal]').click();
    const input = page.locator('#starlight__search input[type="search"]');
    await input.waitFor({ state: 'visible' });
    await input.fill('idempotent');
    const first = page.locator('#starlight__search .pagefind-ui__result-link').first();
    await first.waitFor({ state: 'visible', timeout: 15_000 });
    const hrefs = await page.locator('#starlight__search .pagefind-ui__result-link').evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).pathname));
    expect(hrefs).toContain('/');
    await page.close();
  });
});
