// What the administrator is told once the guest is in place: how to reach its console.
import { describe, expect, it } from 'vitest';
import { consoleLines } from 'xen-runbooks/playbooks/windows-hvm/console';

describe('console lines', () => {
  it('a fixed display on the loopback: the port and the ssh tunnel', () => {
    const lines = consoleLines('127.0.0.1', 2, '7', false);
    expect(lines[0]).toBe('');
    expect(lines[1]).toBe('VNC console: display :2, TCP port 5902 on 127.0.0.1.');
    expect(lines[2]).toBe(
      '  From your workstation: ssh -L 5902:127.0.0.1:5902 root@THIS-HOST, then vncviewer 127.0.0.1:2',
    );
    expect(lines.at(-1)).toBe('Then run windows-hvm again with --installed: boot from the disk (boot = "c").');
  });

  it('a display on a public address: vncviewer straight to it; 0.0.0.0 is this host', () => {
    expect(consoleLines('192.168.1.5', 0, undefined, true)[2]).toBe('  vncviewer 192.168.1.5:0');
    expect(consoleLines('0.0.0.0', 1, undefined, true)[2]).toBe('  vncviewer THIS-HOST:1');
  });

  it('no display: where xenstore keeps the port, with the domain id once known', () => {
    expect(consoleLines('127.0.0.1', undefined, '12', true)[1]).toMatch(
      /xenstore-read \/local\/domain\/12\/console\/vnc-port$/,
    );
    expect(consoleLines('0.0.0.0', undefined, undefined, true)[1]).toMatch(/\/local\/domain\/DOMID\//);
    expect(consoleLines('0.0.0.0', undefined, undefined, true).some((l) => l.includes('ssh -L'))).toBe(false);
  });

  it('once installed, no reminder to run again with --installed', () => {
    expect(consoleLines('127.0.0.1', 2, '7', true).some((l) => l.includes('--installed'))).toBe(false);
  });
});
