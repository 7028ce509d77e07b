/**
 * The Windows guest the windows-hvm page shows: the playbook's own rendering (src/xen/hvmconfig.ts)
 * of today's example, a Windows Server 2022 guest, with the one line a reader must not copy as it
 * is. The playbook writes the password it reads from --vnc-password-file into `vncpasswd`; the page
 * shows where that line goes, commented, instead of a masked value that would become the password.
 */
import { exampleGuest, renderConfig, type HvmGuest, type Toolstack } from '../xen/hvmconfig.js';

export const PAGE_GUEST = {
  name: 'ws2022',
  disk: '/srv/xen/ws2022.img',
  iso: '/srv/iso/ws2022.iso',
  passwordFile: '/root/ws2022.vnc',
} as const;

/** The guest of the page: the playbook's example guest under today's names. */
export function pageGuest(installed = false): HvmGuest {
  return {
    ...exampleGuest(installed),
    name: PAGE_GUEST.name,
    disk: PAGE_GUEST.disk,
    iso: installed ? undefined : PAGE_GUEST.iso,
    vncPassword: 'PASSWORD',
  };
}

/** The line that stands for the password on the page. */
export const PASSWORD_LINE = `# vncpasswd = "…": the first line of ${PAGE_GUEST.passwordFile}, written here by windows-hvm`;

/** The file as windows-hvm writes it for the page's guest, the password line shown as a comment. */
export function pageConfig(toolstack: Toolstack, installed = false): string {
  const text = renderConfig(pageGuest(installed), toolstack);
  const out = text.replace(/^vncpasswd = "PASSWORD"$/m, PASSWORD_LINE);
  if (out === text) throw new Error('the rendered configuration has no vncpasswd line to stand in for');
  return out;
}
