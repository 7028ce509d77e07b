// The target: a release and a toolstack given, or read from the new host's own tools.
import { describe, expect, it } from 'vitest';
import type { CommandResult, Transport } from 'xen-runbooks/engine';
import {
  TargetError,
  readTargetHost,
  releaseFromInfo,
  releaseFromSoftwareVersion,
  targetFrom,
} from 'xen-runbooks/playbooks/xen-upgrade-check/target';

describe('the target given', () => {
  it('reads the release as pygrub-fix does and picks the default toolstack: xm below 4.2, xl from 4.2', () => {
    expect(targetFrom('4.0.1', undefined)).toMatchObject({ toolstack: 'xm', version: { release: '4.0.1' } });
    expect(targetFrom('4.1', undefined).toolstack).toBe('xm');
    expect(targetFrom('4.2', undefined).toolstack).toBe('xl');
    expect(targetFrom('4.17', undefined)).toMatchObject({ toolstack: 'xl', version: { release: '4.17.0' } });
    expect(targetFrom('4.0.1', 'xl').toolstack).toBe('xl');
  });

  it('refuses xm where xend is gone (4.5.0 on) and a release it does not know, naming the option', () => {
    expect(() => targetFrom('4.5', 'xm')).toThrow(
      new TargetError(
        '--to-toolstack xm with --to-xen 4.5: xend and xm were removed in Xen 4.5.0; use --to-toolstack xl',
      ),
    );
    expect(() => targetFrom('3.4', undefined)).toThrow(/^--to-xen 3\.4: Xen 3\.4 is older than any release/);
  });
});

describe("the new host's release", () => {
  it('from xl info / xm info: xen_major, xen_minor and the point release of xen_extra', () => {
    const info =
      'host                   : xenlab\nxen_major              : 4\nxen_minor              : 17\nxen_extra              : .5-pre\n';
    expect(releaseFromInfo(info)).toBe('4.17.5');
    expect(releaseFromInfo('xen_major : 4\nxen_minor : 0\nxen_extra : -rc\n')).toBe('4.0');
    expect(releaseFromInfo('nothing here')).toBeUndefined();
  });

  it("from xe host-list params=software-version (XCP-ng's xen: field)", () => {
    expect(
      releaseFromSoftwareVersion('product_version: 8.3.0; product_brand: XCP-ng; xen: 4.17.5-20; linux: 4.19.0+1'),
    ).toBe('4.17.5');
  });

  it('asks xe, then xl, then xm, and says what each answered when none did', async () => {
    const calls: string[] = [];
    const host = (answers: Record<string, CommandResult>) =>
      ({
        label: 'ssh newhost',
        exec: async (argv: readonly string[]) => {
          calls.push(argv[0] as string);
          return answers[argv[0] as string] ?? { exitCode: 127, stdout: '', stderr: 'not found' };
        },
      }) as unknown as Transport;
    const xl = { exitCode: 0, stdout: 'xen_major : 4\nxen_minor : 4\nxen_extra : .1\n', stderr: '' } as CommandResult;
    expect(await readTargetHost(host({ xl }))).toEqual({ release: '4.4.1', toolstack: 'xl' });
    expect(calls).toEqual(['xe', 'xl']);
    await expect(readTargetHost(host({}))).rejects.toThrow(
      '--to-host ssh newhost: no toolstack answered with a Xen release: xe host-list params=software-version --minimal (exit 127), xl info (exit 127), xm info (exit 127)',
    );
  });
});
