import { describe, expect, it } from 'vitest';
import {
  hasDom0Mem,
  judgeAutoballoon,
  judgeXendBallooning,
  memoryAvailableMiB,
  xlConfAutoballoon,
} from '../../src/xen/autoballoon.js';

const V = (minor: number) => ({ major: 4, minor });

describe('autoballoon as xl reads it (xl.c parse_global_config, auto_autoballoon)', () => {
  it('finds dom0_mem= as the regular expression of auto_autoballoon does', () => {
    expect(hasDom0Mem('placeholder dom0_mem=2048M,max:2048M', V(17))).toBe(true);
    expect(hasDom0Mem('dom0_mem=min:512M,max:4G console=vga', V(4))).toBe(true);
    expect(hasDom0Mem('placeholder no-real-mode', V(17))).toBe(false);
    expect(hasDom0Mem('xdom0_mem=2048M', V(17))).toBe(false);
    // 4.16 added percentages (commit 2faeb4213d); 4.3–4.15 did not read them as dom0_mem.
    expect(hasDom0Mem('dom0_mem=10%', V(16))).toBe(true);
    expect(hasDom0Mem('dom0_mem=10%', V(15))).toBe(false);
  });

  it('reads xl.conf per release: a string from 4.3, a number before', () => {
    expect(xlConfAutoballoon(undefined, V(17))).toBe('auto');
    expect(xlConfAutoballoon(undefined, V(2))).toBe('on');
    expect(xlConfAutoballoon('autoballoon="off"\n', V(17))).toBe('off');
    expect(xlConfAutoballoon('autoballoon="1"\n', V(17))).toBe('on');
    expect(xlConfAutoballoon('#autoballoon="auto"\n', V(17))).toBe('auto');
    expect(xlConfAutoballoon('autoballoon=0\n', V(2))).toBe('off');
    expect(xlConfAutoballoon('autoballoon="off"\n', V(2))).toBe('on');
  });

  it('judges "auto" by the command line and counts dom0 down to 128 MiB', () => {
    expect(judgeAutoballoon(undefined, 'placeholder', V(17)).on).toBe(true);
    expect(judgeAutoballoon(undefined, 'dom0_mem=4G', V(17)).on).toBe(false);
    expect(judgeAutoballoon('autoballoon="on"', 'dom0_mem=4G', V(17)).on).toBe(true);
    expect(memoryAvailableMiB(600, 15500, true)).toBe(600 + 15500 - 128);
    expect(memoryAvailableMiB(600, 100, true)).toBe(600);
    expect(memoryAvailableMiB(600, 15500, false)).toBe(600);
  });
});

describe("xend's dom0 ballooning (XendOptions.get_enable_dom0_ballooning)", () => {
  it('is on with the stock xend-config.sxp, off without one, and as the file says otherwise', () => {
    expect(judgeXendBallooning('(dom0-min-mem 196)\n(enable-dom0-ballooning yes)\n')).toMatchObject({
      on: true,
      minMiB: 196,
    });
    expect(judgeXendBallooning(undefined)).toMatchObject({ on: false, minMiB: 0 });
    expect(judgeXendBallooning('(dom0-min-mem 256)\n')).toMatchObject({ on: true, minMiB: 256 });
    expect(judgeXendBallooning('(dom0-min-mem 196)\n(enable-dom0-ballooning no)\n').on).toBe(false);
    expect(judgeXendBallooning('#(dom0-min-mem 196)\n').on).toBe(false);
  });
});
