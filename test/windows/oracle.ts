import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tool } from '../helpers/tools.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const LIBS = ['libxlutil.so.4.17', 'libxenlight.so.4.17', 'libyajl.so.2'];

/**
 * The Python that runs Xen's own pygrub (xen-utils): it loads Xen's libxlutil through ctypes,
 * so the tests can ask the parser inside `xl create` how it reads a file. Fails with the
 * install command when something is missing.
 */
export function xenPython(): string {
  const pygrub = tool('pygrub');
  const shebang = readFileSync(pygrub, 'utf8').split('\n')[0] ?? '';
  const python = shebang.replace(/^#!\s*/, '').split(/\s+/)[0] ?? '';
  if (!python || !existsSync(python)) throw new Error(`cannot find the Python of ${pygrub} (${shebang})`);
  for (const lib of LIBS) {
    const found = ['/usr/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/lib'].some((d) => existsSync(path.join(d, lib)));
    if (!found) throw new Error(`${lib} is not installed: sudo apt-get install -y xen-utils-4.17 libyajl2`);
  }
  return python;
}

export interface OracleConfig {
  ok: boolean;
  /** Every atom is a string to libxlutil. */
  values: Record<string, unknown>;
  report: string;
}
export interface OracleDisk {
  ok: boolean;
  disk: Record<string, unknown>;
  report: string;
}
export interface OracleRate {
  ok: boolean;
  bytesPerInterval: number | null;
  intervalUsecs: number | null;
  report: string;
}

/** Ask libxlutil: configuration texts, disk specs and vif rates, in one Python run. */
export function xlu(request: { configs?: string[]; disks?: string[]; rates?: string[] }): {
  configs: OracleConfig[];
  disks: OracleDisk[];
  rates: OracleRate[];
} {
  const out = execFileSync(xenPython(), [path.join(HERE, 'xlu-oracle.py')], {
    input: JSON.stringify(request),
    encoding: 'utf8',
  });
  return JSON.parse(out);
}

/** Python's own reading of a file as xm executed it (literal values only). */
export function pythonReads(text: string): Record<string, unknown> {
  const script = [
    'import ast, json, sys',
    'src = sys.stdin.read()',
    'out = {}',
    'for node in ast.parse(src).body:',
    '    if isinstance(node, ast.Assign):',
    '        out[node.targets[0].id] = ast.literal_eval(node.value)',
    'print(json.dumps(out))',
  ].join('\n');
  return JSON.parse(execFileSync(xenPython(), ['-c', script], { input: text, encoding: 'utf8' }));
}
