import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LocalTransport,
  RootTransport,
  SshTransport,
  applyEdit,
  decodeBytes,
  encodeText,
  planEdit,
  type Transport,
} from '../../src/engine/index.js';
import { ROOT, SIM_BIN, runPlaybook } from '../helpers/playbook.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { seedXl } from '../sim/xl.mjs';

// A host file edited by a playbook keeps every byte the edit does not change, whether or not
// those bytes are UTF-8: Latin-1 comments, a stray 0xff, a truncated sequence, CRLF.
const ODD_LINES = [
  Buffer.from('# vm01 \xe9t\xe9 (Latin-1 comment)\n', 'latin1'),
  Buffer.from([0x23, 0x20, 0xff, 0xfe, 0x80, 0x0a]), // bytes that never start UTF-8
  Buffer.from([0x23, 0x20, 0xe2, 0x82, 0x0a]), // a truncated 3-byte sequence
  Buffer.from([0x23, 0x20, 0xed, 0xa0, 0x80, 0x0a]), // an encoded UTF-16 surrogate (invalid UTF-8)
  Buffer.from([0x23, 0x20, 0xc0, 0xaf, 0x0a]), // an overlong '/'
  Buffer.from('# valid UTF-8 stays: é → ✓ 🙂\r\n', 'utf8'),
];
const oddBytes = Buffer.concat(ODD_LINES);

let sshd: Sshd;
let sim: string;
let dir: string;
beforeAll(async () => {
  sim = mkdtempSync(path.join(os.tmpdir(), 'xr-bytes-sim-'));
  dir = mkdtempSync(path.join(os.tmpdir(), 'xr-bytes-'));
  sshd = await startSshd({ env: { PATH: `${SIM_BIN}:/usr/local/bin:/usr/bin:/bin`, XR_SIM_DIR: sim } });
});
afterAll(async () => {
  await sshd?.stop();
  rmSync(sim, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

describe('text that keeps every byte', () => {
  it('decodes and encodes any bytes back to themselves', () => {
    const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    for (const b of [oddBytes, every, Buffer.concat([every, every.reverse()]), Buffer.alloc(0)]) {
      expect(encodeText(decodeBytes(b)).equals(b)).toBe(true);
    }
    // Random bytes: 200 buffers of up to 64 bytes.
    let seed = 12345;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 256;
    for (let n = 0; n < 200; n++) {
      const b = Buffer.from(Array.from({ length: n % 64 }, rnd));
      expect(encodeText(decodeBytes(b)).equals(b)).toBe(true);
    }
  });

  it('reads well-formed UTF-8 as its characters and writes inserted text as UTF-8', () => {
    expect(decodeBytes(Buffer.from('é → ✓ 🙂', 'utf8'))).toBe('é → ✓ 🙂');
    expect(encodeText(`${decodeBytes(Buffer.from([0xff]))}é`).equals(Buffer.from([0xff, 0xc3, 0xa9]))).toBe(true);
  });
});

const transports: [string, () => { t: Transport; file: string; real: string }][] = [
  [
    'local',
    () => {
      const real = path.join(dir, 'local.cfg');
      return { t: new LocalTransport(), file: real, real };
    },
  ],
  [
    '--root',
    () => {
      const root = path.join(dir, 'root');
      mkdirSync(path.join(root, 'etc/xen'), { recursive: true });
      return { t: new RootTransport(root), file: '/etc/xen/vm.cfg', real: path.join(root, 'etc/xen/vm.cfg') };
    },
  ],
  [
    'ssh',
    () => {
      const real = path.join(dir, 'ssh.cfg');
      return { t: new SshTransport({ destination: sshd.destination, configFile: sshd.configFile }), file: real, real };
    },
  ],
];

describe.each(transports)('an edit over %s', (_name, make) => {
  it('changes the one line it edits and keeps every other byte, in the file and in its .orig', async () => {
    const { t, file, real } = make();
    try {
      writeFileSync(real, Buffer.concat([oddBytes, Buffer.from('memory = 1024\n'), oddBytes]));
      const edit = await planEdit(t, file, (text) => (text ?? '').replace('memory = 1024', 'memory = 2048'));
      expect(edit.changed).toBe(true);
      // The diff shows the one line, and odd bytes as \xNN where they are context.
      expect(edit.diff).toContain('-memory = 1024\n+memory = 2048');
      expect(edit.diff).not.toContain('\ufffd');
      await applyEdit(t, edit);
      expect(readFileSync(real).equals(Buffer.concat([oddBytes, Buffer.from('memory = 2048\n'), oddBytes]))).toBe(true);
      expect(
        readFileSync(`${real}.orig`).equals(Buffer.concat([oddBytes, Buffer.from('memory = 1024\n'), oddBytes])),
      ).toBe(true);
      // Nothing to change: the plan says so, over bytes that are not UTF-8 too.
      expect((await planEdit(t, file, (text) => text ?? '')).changed).toBe(false);
      // readText keeps the bytes too: written back through an edit, the file is unchanged.
      const text = (await t.readText(file)) as string;
      expect(encodeText(text).equals(readFileSync(real))).toBe(true);
    } finally {
      await t.close();
    }
  });
});

describe('xen-qos --persist on a config file with bytes that are not UTF-8', () => {
  const fixture = readFileSync(path.join(ROOT, 'test/fixtures/qos/vm01.cfg'));
  const withOdd = Buffer.concat([ODD_LINES[0] as Buffer, fixture, ...ODD_LINES.slice(1)]);
  const expectOnly = (written: Buffer) => {
    // The same bytes as before, but the lines the edit changes.
    const keep = (b: Buffer) =>
      b
        .toString('latin1')
        .split('\n')
        .filter((l) => !/^(vcpus|cap|maxvcpus) =/.test(l));
    expect(keep(written)).toEqual(keep(withOdd));
    expect(written.toString('latin1')).toMatch(/^vcpus = 3$/m);
  };

  it('over --root', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'xr-bytes-root-'));
    try {
      seedXl(sim, { info: { nr_cpus: 4, xen_scheduler: 'credit2' }, domains: [] });
      mkdirSync(path.join(root, 'etc/xen'), { recursive: true });
      writeFileSync(path.join(root, 'etc/xen/vm01.cfg'), withOdd);
      const r = await runPlaybook(
        'xen-qos',
        ['vm01', '--root', root, '--toolstack', 'xl', '--vcpus', '3', '--persist', '--yes'],
        { sim },
      );
      expect(r.code, r.stderr).toBe(0);
      expectOnly(readFileSync(path.join(root, 'etc/xen/vm01.cfg')));
      expect(readFileSync(path.join(root, 'etc/xen/vm01.cfg.orig')).equals(withOdd)).toBe(true);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('over ssh', async () => {
    seedXl(sim, { info: { nr_cpus: 4, xen_scheduler: 'credit2' }, domains: [] });
    const cfg = path.join(dir, 'vm01-ssh.cfg');
    writeFileSync(cfg, withOdd);
    const r = await runPlaybook('xen-qos', [
      'vm01',
      '--host',
      sshd.destination,
      '--ssh-config',
      sshd.configFile,
      '--toolstack',
      'xl',
      '--config',
      cfg,
      '--vcpus',
      '3',
      '--persist',
      '--yes',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expectOnly(readFileSync(cfg));
    expect(readFileSync(`${cfg}.orig`).equals(withOdd)).toBe(true);
  });
});
