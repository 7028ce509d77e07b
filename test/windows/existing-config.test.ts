// An existing configuration read as xl reads it: the disks it names, and lines xl cannot read.
import { describe, expect, it } from 'vitest';
import { RefusedError } from 'xen-runbooks/engine';
import { diskTargets, namesDisk, readExistingConfig } from 'xen-runbooks/playbooks/windows-hvm/existing-config';

const cfg = `name = "win7"
disk = [ 'phy:/dev/vg0/win7,hda,w', 'file:/srv/iso/win7.iso,hdc:cdrom,r' ]
`;
const python = `import os\nname = "win7"\nmemory = 1024\n`;

describe('an existing configuration', () => {
  it('its disks, without the CD drive', () => {
    const c = readExistingConfig(cfg, '/etc/xen/win7.cfg', 'xl');
    expect(diskTargets(c)).toEqual(['/dev/vg0/win7']);
    expect(diskTargets(c, true)).toEqual(['/dev/vg0/win7', '/srv/iso/win7.iso']);
  });

  it('Python that xend read is refused with xl, naming the line; with xm it is kept for the warning', () => {
    const e = (() => {
      try {
        readExistingConfig(python, '/etc/xen/win7.cfg', 'xl');
      } catch (x) {
        return x;
      }
      return undefined;
    })();
    expect(e).toBeInstanceOf(RefusedError);
    expect((e as RefusedError).message).toMatch(
      /^\/etc\/xen\/win7\.cfg has lines xl cannot read: line 1 \(import os\)/,
    );
    expect(readExistingConfig(python, '/etc/xen/win7.cfg', 'xm').issues.map((i) => i.line)).toEqual([1]);
  });

  it('another guest names a disk when any of its specs has it as target, CD drives included', () => {
    expect(namesDisk(cfg, '/dev/vg0/win7')).toBe(true);
    expect(namesDisk(cfg, '/srv/iso/win7.iso')).toBe(true);
    expect(namesDisk(cfg, '/dev/vg0/other')).toBe(false);
    expect(namesDisk("disk = [ 'no spec at all,,,' ]\n", '/dev/vg0/win7')).toBe(false);
  });
});
