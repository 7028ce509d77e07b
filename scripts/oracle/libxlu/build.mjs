#!/usr/bin/env node
/**
 * Rebuilds test/fixtures/oracle/libxlu/results.json: every RELEASE-4.* tag of xen-project/xen
 * that has libxlutil, grouped by identical parser sources; each group's own, unmodified sources
 * compiled with harness.c and run on the corpus.
 *
 *   node scripts/oracle/libxlu/build.mjs [--git-dir DIR] [--work DIR] [--only g03,g04]
 *
 * Needs a bare clone of xen-project/xen (default /work/.mirror/xen-project+xen/repo), gcc, perl,
 * Python 2.7 (pyenv's 2.7.18, or `python2.7` on the PATH) for the releases before 4.13 and
 * python3 after, and libuuid's header (uuid-dev). Nothing from the Xen tree is kept: it is
 * extracted into --work (default a temporary directory) and removed by the next run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'oracle', 'libxlu');
const CORPUS = join(FIXTURES, 'corpus');

const { values: args } = parseArgs({
  options: {
    'git-dir': { type: 'string', default: '/work/.mirror/xen-project+xen/repo' },
    work: { type: 'string', default: join(tmpdir(), 'libxlu-oracle') },
    only: { type: 'string' },
  },
});
const GIT_DIR = args['git-dir'];
const WORK = args.work;

/** The parser's sources: what a group shares. `libxlutil.h` moved to tools/include in 4.15. */
const SOURCES = [
  'libxlu_cfg.c',
  'libxlu_cfg_y.c',
  'libxlu_cfg_y.h',
  'libxlu_cfg_l.c',
  'libxlu_cfg_l.h',
  'libxlu_cfg_i.h',
  'libxlu_disk.c',
  'libxlu_disk_l.c',
  'libxlu_disk_l.h',
  'libxlu_disk_i.h',
  'libxlu_vif.c',
  'libxlu_internal.h',
  'libxlutil.h',
];
const COMPILED = [
  'libxlu_cfg.c',
  'libxlu_cfg_y.c',
  'libxlu_cfg_l.c',
  'libxlu_disk.c',
  'libxlu_disk_l.c',
  'libxlu_vif.c',
];
/** What is extracted per group: the parser, libxl's headers and IDL, and what libxl.h includes. */
const EXTRACT = [
  'tools/libxl',
  'tools/libs/util',
  'tools/libs/light',
  'tools/libs/toollog',
  'tools/include',
  'tools/libxc',
  'tools/xenstore',
  'xen/include/public',
];

const git = (...a) => execFileSync('git', ['--git-dir', GIT_DIR, ...a], { encoding: 'utf8', maxBuffer: 1 << 28 });
const tryGit = (...a) => {
  const r = spawnSync('git', ['--git-dir', GIT_DIR, ...a], { encoding: 'utf8', maxBuffer: 1 << 28 });
  return r.status === 0 ? r.stdout : undefined;
};
const version = (tag) => tag.replace('RELEASE-', '').split('.').map(Number);
const byVersion = (a, b) => {
  const x = version(a);
  const y = version(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++)
    if ((x[i] ?? -1) !== (y[i] ?? -1)) return (x[i] ?? -1) - (y[i] ?? -1);
  return 0;
};

/** Blob ids of the parser sources at a tag, or undefined when the tag has no libxlutil. */
function sourcesAt(tag) {
  const dir =
    tryGit('cat-file', '-e', `${tag}:tools/libs/util/libxlu_cfg.c`) !== undefined ? 'tools/libs/util' : 'tools/libxl';
  if (tryGit('cat-file', '-e', `${tag}:${dir}/libxlu_cfg.c`) === undefined) return undefined;
  const blobs = {};
  for (const f of SOURCES) {
    for (const p of [`${dir}/${f}`, `tools/include/${f}`]) {
      const id = tryGit('rev-parse', `${tag}:${p}`);
      if (id) {
        blobs[f] = { path: p, blob: id.trim() };
        break;
      }
    }
  }
  return { dir, blobs };
}

function groupTags() {
  const tags = git('tag', '-l', 'RELEASE-4.*').split('\n').filter(Boolean).sort(byVersion);
  const groups = [];
  const byKey = new Map();
  const tagToGroup = {};
  const skipped = [];
  for (const tag of tags) {
    const s = sourcesAt(tag);
    if (!s) {
      skipped.push(tag);
      continue;
    }
    const key = createHash('sha256')
      .update(SOURCES.map((f) => `${f} ${s.blobs[f]?.blob ?? '-'}`).join('\n'))
      .digest('hex')
      .slice(0, 16);
    let g = byKey.get(key);
    if (!g) {
      g = { id: `g${String(groups.length).padStart(2, '0')}`, key, tags: [], dir: s.dir, blobs: s.blobs };
      byKey.set(key, g);
      groups.push(g);
    }
    g.tags.push(tag);
    tagToGroup[tag] = g.id;
  }
  return { tags, groups, tagToGroup, skipped };
}

/* ------------------------------------------------------------------ building a group */

function sh(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 1 << 28, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

function pythonFor(tag) {
  const py2 = join(process.env.HOME ?? '/root', '.pyenv', 'versions', '2.7.18', 'bin', 'python');
  const [maj, min] = version(tag);
  if (maj === 4 && min < 13) return existsSync(py2) ? py2 : 'python2.7';
  return 'python3';
}

/** _libxl_types.h (and its .c) by the tree's own gentypes.py, with the arguments its main() wants. */
function generateTypes(tree, tag) {
  const dir = existsSync(join(tree, 'tools/libs/light/gentypes.py'))
    ? join(tree, 'tools/libs/light')
    : join(tree, 'tools/libxl');
  // 4.0.x writes libxl's types by hand in libxl.h: nothing to generate.
  if (!existsSync(join(dir, 'gentypes.py'))) return { dir, python: null };
  const script = readFileSync(join(dir, 'gentypes.py'), 'utf8');
  const idl = existsSync(join(dir, 'libxl_types.idl')) ? 'libxl_types.idl' : 'libxl.idl';
  let outs;
  if (/len\(sys\.argv\) != 6/.test(script))
    outs = ['_libxl_types.h', '_libxl_types_private.h', '_libxl_types_json.h', '_libxl_types.c'];
  else if (/len\(sys\.argv\) != 5/.test(script)) outs = ['_libxl_types.h', '_libxl_types_json.h', '_libxl_types.c'];
  else outs = ['_libxl_types.h', '_libxl_types.c'];
  const python = pythonFor(tag);
  sh(python, ['gentypes.py', idl, ...outs], { cwd: dir });
  return { dir, python: sh(python, ['-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])']).trim() };
}

/** _libxl_list.h where libxl.h includes it (4.3 … 4.14), as tools/libxl/Makefile makes it. */
function generateList(tree, lightDir) {
  const seddery = join(tree, 'tools/include/xen-external/bsd-sys-queue-h-seddery');
  if (!existsSync(seddery)) return false;
  const out = sh('perl', [seddery, join(tree, 'tools/include/xen-external/bsd-sys-queue.h'), '--prefix=libxl']);
  writeFileSync(join(lightDir, '_libxl_list.h'), out);
  return true;
}

/**
 * xen/foreign/*.h, which xenctrl.h includes and libxl.h includes xenctrl.h in 4.0/4.1: made by the
 * tree's own tools/include/xen-foreign/mkheader.py, with the arguments of that directory's Makefile.
 */
function foreignHeaders(tree, tag) {
  const libxlH = ['tools/libxl/libxl.h', 'tools/include/libxl.h'].map((p) => join(tree, p)).find(existsSync);
  const dir = join(tree, 'tools/include/xen-foreign');
  if (!libxlH || !/#include <xenctrl\.h>/.test(readFileSync(libxlH, 'utf8')) || !existsSync(join(dir, 'mkheader.py')))
    return undefined;
  const makefile = readFileSync(join(dir, 'Makefile'), 'utf8');
  const out = {};
  for (const m of makefile.matchAll(/^(\w+)\.h: mkheader\.py structs\.py (.*)$/gm)) {
    const headers = m[2].split(/\s+/).map((h) => h.replace('$(ROOT)', join(tree, 'xen/include/public')));
    sh(pythonFor(tag), ['mkheader.py', m[1], `${m[1]}.h`, ...headers], { cwd: dir });
    out[`${m[1]}.h`] = readFileSync(join(dir, `${m[1]}.h`), 'utf8');
  }
  return out;
}

/** The body of a function from a C file, by its definition line (generated or libxl's own). */
function functionBody(text, signature) {
  const i = text.indexOf(signature);
  if (i < 0) return undefined;
  const open = text.indexOf('{', i);
  let depth = 0;
  for (let j = open; j < text.length; j++) {
    if (text[j] === '{') depth++;
    else if (text[j] === '}' && --depth === 0) return text.slice(open, j + 1);
  }
  return undefined;
}

function structMembers(header, name) {
  const m = new RegExp(`typedef struct ${name} \\{([\\s\\S]*?)\\} ${name};`).exec(header);
  if (!m) return undefined;
  return [...m[1].matchAll(/^\s*([A-Za-z_][\w ]*?\s*\*?)\s*(\w+);/gm)].map((x) => ({
    type: x[1].replace(/\s+/g, ' ').trim(),
    name: x[2],
  }));
}

function enumNames(header, type) {
  const m = new RegExp(`typedef enum ${type} \\{([\\s\\S]*?)\\} ${type};`).exec(header);
  if (!m) return undefined;
  return [...m[1].matchAll(/(LIBXL_\w+) = (-?\d+)/g)].map((x) => ({ c: x[1], value: Number(x[2]) }));
}

/** gen_libxl.h: the release's generated init functions, libxl_defbool_set, and field printers. */
function generateGlue(tree, lightDir, out) {
  const read = (f) => (existsSync(join(lightDir, f)) ? readFileSync(join(lightDir, f), 'utf8') : '');
  const header = read('_libxl_types.h');
  const impl = read('_libxl_types.c');
  const lines = ["/* Generated by build.mjs from this release's _libxl_types.h/.c and libxl.c. */"];
  const inits = {};
  for (const [ours, type] of [
    ['gen_disk_init', 'libxl_device_disk'],
    ['gen_nic_init', 'libxl_device_nic'],
  ]) {
    const body = functionBody(impl, `void ${type}_init(${type} *p)`);
    if (!structMembers(header, type)) continue;
    const use = body ?? "{\n    memset(p, '\\0', sizeof(*p));\n}";
    if (!/^\{\s*memset\(p, '\\0', sizeof\(\*p\)\);(\s*p->\w+ = [-\w]+;)*\s*\}$/.test(use)) {
      throw new Error(`${type}_init does more than memset and constants:\n${use}`);
    }
    inits[type] = body ? `${type}_init from _libxl_types.c` : 'memset 0 (the release generates no init)';
    lines.push(`static void ${ours}(${type} *p) ${use}`);
  }
  // libxl_defbool_set, which libxlu_cfg.c/libxlu_disk.c call: the release's own, from libxl.c.
  for (const f of ['tools/libs/light/libxl.c', 'tools/libxl/libxl.c']) {
    const p = join(tree, f);
    if (!existsSync(p)) continue;
    const text = readFileSync(p, 'utf8');
    const body = functionBody(text, 'void libxl_defbool_set(libxl_defbool *db, bool b)');
    if (!body) break;
    // Its constants: in libxl.c (4.2) or libxl_internal.h beside it.
    const internal = text + readFileSync(join(dirname(p), 'libxl_internal.h'), 'utf8');
    for (const d of internal.matchAll(/^#define LIBXL__DEFBOOL_(TRUE|FALSE|DEFAULT)\s.*$/gm)) lines.push(d[0]);
    lines.push(`void libxl_defbool_set(libxl_defbool *db, bool b) ${body}`);
    break;
  }
  const disk = structMembers(header, 'libxl_device_disk');
  const fields = [];
  if (disk) {
    lines.push('static void gen_disk_print(libxl_device_disk *p) {');
    disk.forEach((m, i) => {
      const sep = i ? ',' : '';
      lines.push(`  printf("${sep}\\"${m.name}\\":");`);
      const names = enumNames(header, m.type);
      if (m.type === 'char *') lines.push(`  json_cstr(p->${m.name});`);
      else if (m.type === 'libxl_defbool') {
        lines.push(
          `  printf("%s", p->${m.name}.val > 0 ? "\\"true\\"" : p->${m.name}.val < 0 ? "\\"false\\"" : "\\"default\\"");`,
        );
      } else if (names) {
        lines.push(`  switch ((int)p->${m.name}) {`);
        for (const n of names) lines.push(`  case ${n.c}: printf("\\"${n.c}\\""); break;`);
        lines.push(`  default: printf("%d", (int)p->${m.name});`, '  }');
      } else if (/^(int|bool|u?int\d+_t|libxl_domid|libxl_devid)$/.test(m.type)) {
        lines.push(`  printf("%lld", (long long)p->${m.name});`);
      } else lines.push(`  printf("\\"(${m.type})\\"");`);
      fields.push(m.name);
    });
    lines.push('}');
  }
  writeFileSync(out, lines.join('\n') + '\n');
  return { inits, disk_fields: fields };
}

function buildGroup(g) {
  const tag = g.tags[0];
  const tree = join(WORK, g.id, 'tree');
  rmSync(join(WORK, g.id), { recursive: true, force: true });
  mkdirSync(tree, { recursive: true });
  const paths = EXTRACT.filter((p) => tryGit('cat-file', '-e', `${tag}:${p}`) !== undefined);
  const tar = spawnSync('git', ['--git-dir', GIT_DIR, 'archive', tag, ...paths], { maxBuffer: 1 << 30 });
  if (tar.status !== 0) throw new Error(`git archive ${tag}: ${tar.stderr}`);
  sh('tar', ['-x', '-C', tree], { input: tar.stdout });
  const { dir: lightDir, python } = generateTypes(tree, tag);
  const list = generateList(tree, lightDir);
  // tools/include/xen -> xen/include/public, as tools/include/Makefile links it.
  const inc = join(WORK, g.id, 'inc');
  mkdirSync(inc, { recursive: true });
  const foreign = foreignHeaders(tree, tag);
  if (foreign) {
    sh('cp', ['-r', join(tree, 'xen/include/public'), join(inc, 'xen')]);
    mkdirSync(join(inc, 'xen', 'foreign'));
    for (const [name, text] of Object.entries(foreign)) writeFileSync(join(inc, 'xen', 'foreign', name), text);
  } else symlinkSync(join(tree, 'xen/include/public'), join(inc, 'xen'));
  const gen = join(WORK, g.id, 'gen');
  mkdirSync(gen, { recursive: true });
  const glue = generateGlue(tree, lightDir, join(gen, 'gen_libxl.h'));
  const src = join(tree, g.dir);
  const includes = [
    gen,
    src,
    lightDir,
    join(tree, 'tools/include'),
    inc,
    join(tree, 'tools/libxc/include'),
    join(tree, 'tools/libxc'),
    join(tree, 'tools/xenstore/include'),
    join(tree, 'tools/xenstore'),
    join(tree, 'tools/libs/toollog/include'),
  ].filter(existsSync);
  const have = {
    disk: existsSync(join(src, 'libxlu_disk.c')),
    vif: existsSync(join(src, 'libxlu_vif.c')),
  };
  const util = readFileSync(join(tree, g.blobs['libxlutil.h'].path), 'utf8').replace(/\s+/g, ' ');
  have.dont_warn = /xlu_cfg_get_string\([^)]*dont_warn\)/.test(util);
  have.list_dont_warn = /xlu_cfg_get_list\([^)]*dont_warn\)/.test(util);
  have.listitem2 = util.includes('xlu_cfg_get_listitem2');
  have.op = util.includes('XLU_OP_ADDITION');
  have.readdata = util.includes('xlu_cfg_readdata');
  const defs = Object.entries(have)
    .filter(([, v]) => v)
    .map(([k]) => `-DHAVE_${k.toUpperCase()}`);
  const files = COMPILED.filter((f) => existsSync(join(src, f))).map((f) => join(src, f));
  const exe = join(WORK, g.id, 'harness');
  sh('gcc', [
    '-std=gnu99',
    '-O1',
    '-w',
    '-D__XEN_TOOLS__',
    ...defs,
    ...includes.map((i) => `-I${i}`),
    join(HERE, 'harness.c'),
    ...files,
    '-o',
    exe,
  ]);
  return { exe, python, list, have, glue };
}

/* ------------------------------------------------------------------ running */

function run(exe, mode, arg) {
  const r = spawnSync(exe, [mode, arg], { encoding: 'latin1', maxBuffer: 1 << 28, timeout: 20_000 });
  if (r.status !== 0 || r.signal) return { crashed: r.signal ?? r.status, stderr: r.stderr };
  // The harness prints bytes >= 0x80 as \u00XX, so its output is ASCII; latin1 keeps it exact.
  return JSON.parse(r.stdout);
}

function corpus() {
  const cfgDir = join(CORPUS, 'cfg');
  const configs = readdirSync(cfgDir)
    .filter((f) => f.endsWith('.cfg'))
    .sort();
  const notes = JSON.parse(readFileSync(join(cfgDir, 'notes.json'), 'utf8'));
  const disks = JSON.parse(readFileSync(join(CORPUS, 'disk-specs.json'), 'utf8'));
  const rates = JSON.parse(readFileSync(join(CORPUS, 'rates.json'), 'utf8'));
  return { cfgDir, configs, notes, disks, rates };
}

/** One entry per distinct result: [{ groups: [...], result }], in group order. */
function collapse(perGroup) {
  const out = [];
  for (const [gid, result] of perGroup) {
    const s = JSON.stringify(result);
    const same = out.find((o) => JSON.stringify(o.result) === s);
    if (same) same.groups.push(gid);
    else out.push({ groups: [gid], result });
  }
  return out;
}

function main() {
  const { tags, groups, tagToGroup, skipped } = groupTags();
  const only = args.only?.split(',');
  const c = corpus();
  const built = [];
  for (const g of groups) {
    if (only && !only.includes(g.id)) continue;
    process.stderr.write(`${g.id} ${g.tags[0]}…${g.tags.at(-1)} (${g.tags.length} tags): building\n`);
    built.push([g, buildGroup(g)]);
  }
  const configs = {};
  for (const f of c.configs) {
    const text = readFileSync(join(c.cfgDir, f));
    const per = built.map(([g, b]) => [g.id, run(b.exe, 'cfg', join(c.cfgDir, f))]);
    configs[f.replace(/\.cfg$/, '')] = {
      file: `corpus/cfg/${f}`,
      bytes: text.length,
      note: c.notes[f] ?? '',
      outcomes: collapse(per),
    };
  }
  const disks = c.disks.map((d) => ({
    ...d,
    outcomes: collapse(built.filter(([, b]) => b.have.disk).map(([g, b]) => [g.id, run(b.exe, 'disk', d.spec)])),
  }));
  const rates = c.rates.map((r) => ({
    ...r,
    outcomes: collapse(built.filter(([, b]) => b.have.vif).map(([g, b]) => [g.id, run(b.exe, 'rate', r.rate)])),
  }));
  const results = {
    generated: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    xen_repo: 'xen-project/xen (git mirror)',
    xen_repo_head: git('rev-parse', 'HEAD').trim(),
    tags,
    tags_without_libxlutil: skipped,
    groups: built.map(([g, b], i) => ({
      id: g.id,
      tags: g.tags,
      dir: g.dir,
      sources: Object.fromEntries(Object.entries(g.blobs).map(([f, v]) => [f, v.blob.slice(0, 12)])),
      prev_group: i ? built[i - 1][0].id : null,
      differs_from_prev_in: i ? SOURCES.filter((f) => built[i - 1][0].blobs[f]?.blob !== g.blobs[f]?.blob) : [],
      changes: i ? gitLog(built[i - 1][0].tags[0], g.tags[0], g.dir) : [],
      has: b.have,
      python_for_gentypes: b.python,
      generated_list_h: b.list,
      inits: b.glue.inits,
      disk_fields: b.glue.disk_fields,
    })),
    tag_to_group: tagToGroup,
    configs,
    disks,
    rates,
  };
  writeFileSync(join(FIXTURES, 'results.json'), JSON.stringify(results, null, 1) + '\n');
  process.stderr.write(`wrote ${join(FIXTURES, 'results.json')}\n`);
}

function gitLog(from, to, dir) {
  const out = tryGit(
    'log',
    '--format=%s',
    `${from}..${to}`,
    '--',
    `${dir}/libxlu*`,
    'tools/include/libxlutil.h',
    'tools/libxl/libxlutil.h',
  );
  return (out ?? '').split('\n').filter(Boolean);
}

main();
