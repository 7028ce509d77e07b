// How pygrub-fix weighs a diagnosis: what the strategy fixes, what stops the run, and the words for it.
import { describe, expect, it } from 'vitest';
import { entry, parseXenVersion, strategyNeeds, type Finding } from 'xen-runbooks/grub';
import * as findings from 'xen-runbooks/playbooks/pygrub-fix/findings';

const finding = (id: string, severity: Finding['severity'], strategies: Finding['strategies']): Finding => ({
  id,
  severity,
  message: `${id} here`,
  strategies,
});

const msdos = finding('grub2-partition-name', 'error', ['rewrite', 'pvgrub']);
const notTried = finding('boot-not-tried', 'error', ['activate', 'offset', 'pvgrub']);
const lvm = finding('root-in-lvm', 'error', []);
const warn = finding('hidden-config', 'warning', []);

describe('what blocks a strategy', () => {
  it('rewrite fixes what rewrite names; an error no strategy fixes always blocks; a warning never does', () => {
    expect(findings.blocking([msdos, lvm, warn], 'rewrite')).toEqual([lvm]);
    expect(findings.blocking([msdos, notTried], 'rewrite')).toEqual([notTried]);
  });

  it('activate and offset run the rewrite too; pvgrub does not rewrite', () => {
    expect(findings.blocking([msdos, notTried], 'activate')).toEqual([]);
    expect(findings.blocking([msdos, notTried], 'offset')).toEqual([]);
    expect(findings.blocking([msdos, finding('x', 'error', ['rewrite'])], 'pvgrub').map((x) => x.id)).toEqual(['x']);
  });

  it('the message names each cause once, with its fix and the strategies that resolve it here', () => {
    const twice = { ...notTried, message: 'again' };
    const text = findings.cannotFix([notTried, twice, lvm], 'rewrite');
    expect(text.split('\n')[0]).toBe('3 problems that --strategy rewrite cannot fix; nothing was changed. Ways out:');
    expect(text.match(/\[boot-not-tried\]/g)).toHaveLength(1);
    expect(text).toContain(
      `[boot-not-tried] ${entry('boot-not-tried').fix} (here: --strategy activate, ${strategyNeeds('activate')};`,
    );
    expect(text).toContain(`  [root-in-lvm] ${entry('root-in-lvm').fix}`);
    expect(text).not.toMatch(/\[root-in-lvm\][^\n]*\(here:/);
    expect(findings.cannotFix([lvm], 'pvgrub')).toMatch(/^1 problem that --strategy pvgrub/);
  });

  it('ways out: every strategy a finding names, once, with what it needs', () => {
    expect(findings.waysOut([msdos, notTried])).toEqual(
      (['rewrite', 'pvgrub', 'activate', 'offset'] as const).map((s) => ({ strategy: s, needs: strategyNeeds(s) })),
    );
    expect(findings.waysOut([lvm, warn])).toEqual([]);
  });
});

describe('the words', () => {
  const v = parseXenVersion('4.0.1');

  it('a summary counts problems and warnings, or says pygrub reads the image', () => {
    expect(findings.summary([], 3, v)).toBe('the pygrub of Xen 4.0.1 reads this image: 3 entries');
    expect(findings.summary([msdos, warn], 3, v)).toBe('1 problem for pygrub of Xen 4.0.1, 1 warning');
    expect(findings.summary([msdos, lvm], 0, v)).toBe('2 problems for pygrub of Xen 4.0.1, 0 warnings');
  });

  it('a line per finding: ✗ for an error, ! for a warning', () => {
    expect(findings.line(msdos)).toBe('    ✗ [grub2-partition-name] grub2-partition-name here');
    expect(findings.line(warn)).toBe('    ! [hidden-config] hidden-config here');
  });

  it('the activation is needed only when the diagnosis says pygrub does not reach /boot and activate helps', () => {
    expect(findings.activationNeeded([notTried])).toBe(true);
    expect(findings.activationNeeded([finding('partition-raises', 'error', ['activate'])])).toBe(true);
    expect(findings.activationNeeded([finding('boot-not-tried', 'error', ['offset'])])).toBe(false);
    expect(findings.activationNeeded([msdos])).toBe(false);
  });

  it('the release reported: what was given, the release read, its group and whether it has --offset', () => {
    expect(findings.xenReport(parseXenVersion('4.17.9'))).toMatchObject({ given: '4.17.9', offsetOption: true });
    expect(findings.xenReport(v)).toMatchObject({ release: '4.0.1', offsetOption: false });
  });

  it('the durable ways out name pv-grub and the releases that fix each GRUB 2 form', () => {
    const text = findings.durableWaysOut();
    expect(text).toContain('--strategy pvgrub');
    expect(text).toContain(entry('grub2-partition-name').xen);
    expect(text).toContain('GRUB_DEFAULT=0');
  });
});
