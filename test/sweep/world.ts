/**
 * Where the sweep runs a playbook: a --root tree (or, over ssh and for local-only playbooks, a
 * directory of this machine) holding a good file of every declared kind where the examples name
 * one, the bad files each case gives, a simulators' state directory, and a snapshot of all three.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { isoStandIn } from '../helpers/iso.js';
import type { BadFile, Described, DescribedArg, DescribedOption, Value } from './cases.js';
import { MARKER, splitExample } from './cases.js';

export type Mode = 'root' | 'ssh' | 'local';

export interface World {
  /** The --root tree (root mode). */
  root: string;
  /** A directory of this machine: local files, ssh-mode files, the marker. */
  base: string;
  sim: string;
  marker: string;
}

type Rule = DescribedOption | DescribedArg;

/** A good domain config: what a config option or a folder of them holds in the baseline. */
const GUEST_CFG = `name = "vm01"\ndisk = [ 'file:/srv/xen/vm01.img,xvda,w' ]\nmemory = 512\n`;

/** Options that take no value, and the common ones a baseline never carries from an example. */
const DROP_WITH_VALUE = new Set(['--host', '--ssh-config', '--root']);
const DROP = new Set(['--yes', '-y', '--dry-run', '--json', '--verbose', '-v']);

export class Baseline {
  constructor(
    readonly d: Described,
    readonly world: World,
    readonly mode: Mode,
  ) {}

  private option(flag: string): DescribedOption | undefined {
    return this.d.options.find((o) => `--${o.name}` === flag);
  }

  /** Where a value of this rule lives on this machine, and how the run names it. */
  where(rule: Rule | undefined, p: string): { real: string; given: string } {
    const local = this.mode !== 'root' || Boolean(rule?.local);
    if (local) return { real: path.join(this.world.base, p), given: path.join(this.world.base, p) };
    return { real: path.join(this.world.root, p), given: p };
  }

  /**
   * The example to start from (the first naming `option`), as argv: common options and --yes
   * dropped, file values placed in the world, `--dry-run` and the transport added.
   */
  argv(option?: string, ssh?: { destination: string; configFile: string }): string[] {
    const lines = this.d.examples.map(splitExample);
    const line =
      (option && lines.find((l) => l.some((t) => t === `--${option}` || t.startsWith(`--${option}=`)))) ||
      lines[0] ||
      [];
    const out: string[] = [];
    const positional: string[] = [];
    for (let i = 0; i < line.length; i++) {
      const t = line[i] as string;
      if (DROP.has(t)) continue;
      if (DROP_WITH_VALUE.has(t)) {
        i++;
        continue;
      }
      if (t.startsWith('-')) {
        const o = this.option(t.split('=')[0] as string);
        if (o && o.type !== 'boolean' && !t.includes('=')) {
          const v = line[++i] ?? '';
          out.push(t, o.file ? this.place(o, v, t) : v);
        } else out.push(t);
        continue;
      }
      const a = this.d.args[positional.length];
      positional.push(a?.file ? this.place(a, t, a.name) : t);
    }
    this.placeDefaults(out);
    const transport =
      this.mode === 'root'
        ? ['--root', this.world.root]
        : this.mode === 'ssh' && ssh
          ? ['--host', ssh.destination, '--ssh-config', ssh.configFile]
          : [];
    return [...positional, ...out, ...transport, '--dry-run'];
  }

  /** A good file of the rule's kind at the example's path (a relative one is replaced). */
  private place(rule: Rule, value: string, name: string): string {
    const p = value.startsWith('/') ? value : `/sweep/good/${name.replace(/^-+/, '')}`;
    const { real, given } = this.where(rule, p);
    mkdirSync(path.dirname(real), { recursive: true });
    switch (rule.file) {
      case 'dir':
        // A folder of domain configs holds one (a playbook that reads guests finds vm01).
        mkdirSync(real, { recursive: true });
        writeFileSync(path.join(real, 'vm01.cfg'), GUEST_CFG);
        break;
      case 'disk-target':
        break;
      case 'iso':
        writeFileSync(real, isoStandIn());
        break;
      case 'disk-image':
        writeFileSync(real, '');
        truncateSync(real, 1024 * 1024);
        break;
      case 'xl-config':
        writeFileSync(real, GUEST_CFG);
        break;
      case 'secret':
        writeFileSync(real, 's3cret\n', { mode: 0o600 });
        break;
      default:
        writeFileSync(real, 'text\n');
    }
    return given;
  }

  /** Defaults of file options (a --config-dir) exist as their kind asks. */
  private placeDefaults(argv: readonly string[]): void {
    for (const o of this.d.options) {
      if (!o.file || typeof o.default !== 'string' || argv.includes(`--${o.name}`)) continue;
      if (this.mode !== 'root' && !o.local) continue;
      this.place(o, o.default, o.name);
    }
  }

  /** The argv value of a case's value for this rule. */
  value(rule: Rule | undefined, v: Value): string {
    if ('text' in v) return v.text.split(MARKER).join(this.world.marker);
    return this.bad(rule, v.bad);
  }

  private bad(rule: Rule | undefined, b: BadFile): string {
    const at = (name: string) => this.where(rule, `/bad/${name}`);
    switch (b) {
      case 'missing':
        return at('missing.file').given;
      case 'directory':
        return at('a-directory').given;
      case 'fifo':
        return at('a-fifo').given;
      case 'dev-zero':
        return '/dev/zero';
      case 'empty':
        return at('empty').given;
      case 'passwd':
        return at('passwd').given;
      case 'long-name':
        return at('n'.repeat(300)).given;
      case 'under-a-file':
        return `${at('empty').given}/x`;
      case 'leaves-root':
        // Outside a --root tree there is no tree to leave: a path under a regular file instead.
        return this.mode === 'root' && !rule?.local ? '/../../../etc/passwd' : `${at('empty').given}/x`;
      case 'too-big': {
        const max = rule?.maxBytes ?? 1024 * 1024;
        const f = at(`too-big-${max}`);
        if (!existsSync(f.real)) {
          writeFileSync(f.real, `name = "vm01"\n`);
          truncateSync(f.real, max + 1);
        }
        return f.given;
      }
    }
  }
}

/** The bad files every case may name, under DIR/bad, and /dev/zero inside a --root tree. */
export function makeBadFiles(dir: string, devZero: boolean): void {
  const bad = path.join(dir, 'bad');
  mkdirSync(path.join(bad, 'a-directory'), { recursive: true });
  execFileSync('mkfifo', [path.join(bad, 'a-fifo')]);
  writeFileSync(path.join(bad, 'empty'), '');
  copyFileSync('/etc/passwd', path.join(bad, 'passwd'));
  if (devZero) {
    mkdirSync(path.join(dir, 'dev'), { recursive: true });
    // A character device in the tree, as /dev/zero is on the host the tree stands for.
    execFileSync('mknod', [path.join(dir, 'dev/zero'), 'c', '1', '5']);
  }
}

/** Every entry under the directories: path, type, mode, size, and a file's content hash. */
export function snapshot(...dirs: string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = path.join(dir, name);
      const s = lstatSync(p);
      const hash = s.isFile() ? createHash('sha1').update(readFileSync(p)).digest('hex') : '';
      const type = s.isFile() ? 'f' : s.isDirectory() ? 'd' : s.isSymbolicLink() ? 'l' : s.isFIFO() ? 'p' : 'o';
      out.push(`${rel}/${name} ${type} ${(s.mode & 0o7777).toString(8)} ${s.size} ${hash}`);
      if (s.isDirectory()) walk(p, `${rel}/${name}`);
    }
  };
  for (const d of dirs) if (existsSync(d)) walk(d, d);
  return out;
}
