/** How to reach the guest's console once it runs: VNC through an ssh tunnel, then RDP. */
import { isLocalListen } from './options.js';

/** The lines printed after a run: the VNC display and port (or how to find them), and what to do once Windows is installed. */
export function consoleLines(
  listen: string,
  display: number | undefined,
  domid: string | undefined,
  installed: boolean,
): string[] {
  const local = isLocalListen(listen);
  const out = [''];
  if (display !== undefined) {
    const port = 5900 + display;
    out.push(`VNC console: display :${display}, TCP port ${port} on ${listen}.`);
    if (local)
      out.push(
        `  From your workstation: ssh -L ${port}:127.0.0.1:${port} root@THIS-HOST, then vncviewer 127.0.0.1:${display}`,
      );
    else out.push(`  vncviewer ${listen === '0.0.0.0' ? 'THIS-HOST' : listen}:${display}`);
  } else {
    out.push(
      `VNC console: the first free display when the guest starts; its port: xenstore-read /local/domain/${domid ?? 'DOMID'}/console/vnc-port`,
    );
    if (local)
      out.push('  From your workstation: ssh -L PORT:127.0.0.1:PORT root@THIS-HOST, then vncviewer 127.0.0.1::PORT');
  }
  out.push(
    'Once Windows is installed: enable Remote Desktop in Windows, install the PV drivers, and use RDP (mstsc, xfreerdp /v:GUEST)',
    '  for daily work; keep VNC as the console for when the network is down.',
  );
  if (!installed) out.push(`Then run windows-hvm again with --installed: boot from the disk (boot = "c").`);
  return out;
}
