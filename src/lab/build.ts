/**
 * Assembling the lab under the cache: Xen's hypervisor and dom0's kernel unpacked from their
 * packages, dom0's initramfs built; done again only when a package version (or the recipe) changes.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { buildPaths, cacheKey, cacheRoot, RECIPE } from './cache.js';
import { buildInitramfs } from './initramfs.js';
import { DOWNLOADED, INSTALLED, fetchPackage, installedVersions, resolvePackage, unpack } from './packages.js';

const run = promisify(execFile);

export interface Manifest {
  key: string;
  recipe: number;
  versions: Record<string, string>;
  kernelRelease: string;
  modules: string[];
  builtAt: string;
  buildSeconds: number;
}

export interface Built {
  key: string;
  dir: string;
  xen: string;
  vmlinuz: string;
  initrd: string;
  manifest: Manifest;
  /** True when this call built it, false when the cache had it. */
  fresh: boolean;
}

/** The versions the lab would be built from now (installed packages, and the archive's candidates). */
export async function labVersions(): Promise<{
  versions: Record<string, string>;
  downloads: { name: string; version: string }[];
}> {
  const versions = await installedVersions(INSTALLED);
  const downloads = [];
  for (const name of DOWNLOADED) {
    const r = await resolvePackage(name);
    versions[r.name] = r.version;
    downloads.push(r);
  }
  return { versions, downloads };
}

/** The cached lab for today's versions, built first if needed. */
export async function ensureBuilt(o: { root?: string; progress?: (msg: string) => void } = {}): Promise<Built> {
  const root = o.root ?? cacheRoot();
  const say = o.progress ?? (() => undefined);
  say('reading package versions');
  const { versions, downloads } = await labVersions();
  const key = cacheKey(versions);
  const p = buildPaths(root, key);
  if (existsSync(p.manifest)) {
    const manifest = JSON.parse(await readFile(p.manifest, 'utf8')) as Manifest;
    return { key, dir: p.dir, xen: p.xen, vmlinuz: p.vmlinuz, initrd: p.initrd, manifest, fresh: false };
  }
  const started = Date.now();
  const tmp = `${p.dir}.build-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  try {
    const debs = path.join(root, 'debs');
    const unpacked = path.join(tmp, 'unpacked');
    for (const d of downloads) {
      say(`apt-get download ${d.name} ${d.version}`);
      const f = await fetchPackage(d.name, d.version, debs);
      say(`dpkg -x ${path.basename(f.deb)}`);
      await unpack(f.deb, unpacked);
    }
    const boot = path.join(unpacked, 'boot');
    const names = await readdir(boot);
    const xenGz = names.find((n) => /^xen-4\.17.*\.gz$/.test(n));
    const vmlinuz = names.find((n) => n.startsWith('vmlinuz-'));
    if (!xenGz || !vmlinuz) throw new Error(`the packages gave no Xen or no vmlinuz in /boot: ${names.join(' ')}`);
    const release = vmlinuz.slice('vmlinuz-'.length);
    // The hypervisor ships gzipped; QEMU's multiboot loader wants the ELF itself.
    const tp = buildPaths(tmp, '.');
    await writeFile(tp.xen, gunzipSync(await readFile(path.join(boot, xenGz))));
    await copyFile(path.join(boot, vmlinuz), tp.vmlinuz);
    say('depmod');
    await run('depmod', ['-b', unpacked, release]);
    say('building the dom0 initramfs');
    const { modules } = await buildInitramfs({
      stage: path.join(tmp, 'stage'),
      kernelRoot: unpacked,
      kernelRelease: release,
      out: tp.initrd,
      progress: say,
    });
    await rm(unpacked, { recursive: true, force: true });
    const manifest: Manifest = {
      key,
      recipe: RECIPE,
      versions,
      kernelRelease: release,
      modules,
      builtAt: new Date().toISOString(),
      buildSeconds: Math.round((Date.now() - started) / 100) / 10,
    };
    await writeFile(tp.manifest, JSON.stringify(manifest, null, 2) + '\n');
    await rm(p.dir, { recursive: true, force: true });
    await rename(tmp, p.dir);
    return { key, dir: p.dir, xen: p.xen, vmlinuz: p.vmlinuz, initrd: p.initrd, manifest, fresh: true };
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}
