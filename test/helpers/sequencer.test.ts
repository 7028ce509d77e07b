import { describe, expect, it } from 'vitest';
import { SITE_BUILD_LEAD, spreadSiteFiles } from '../lab/sequencer.js';

describe('the order of the test files', () => {
  const site = (f: string) => f.startsWith('site');
  const others = Array.from({ length: 20 }, (_, i) => `f${i}`);

  it('keeps the first file that needs the site, and starts the others only after SITE_BUILD_LEAD more files', () => {
    const order = spreadSiteFiles(['siteA', 'siteB', ...others, 'siteC'], site);
    expect(order).toHaveLength(23);
    expect(order[0]).toBe('siteA');
    expect(order.slice(1, 1 + SITE_BUILD_LEAD)).toEqual(others.slice(0, SITE_BUILD_LEAD));
    expect(order.slice(1 + SITE_BUILD_LEAD, 3 + SITE_BUILD_LEAD)).toEqual(['siteB', 'siteC']);
    expect(order.filter((f) => !site(f))).toEqual(others);
  });

  it('puts them last when fewer files follow, and leaves a list without them as it is', () => {
    expect(spreadSiteFiles(['f1', 'siteA', 'siteB', 'f2'], site)).toEqual(['f1', 'siteA', 'f2', 'siteB']);
    expect(spreadSiteFiles(others, site)).toEqual(others);
  });
});
