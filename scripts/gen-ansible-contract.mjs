// How a playbook's `--describe` becomes an Ansible module: its name, its options and their types,
// and a command line of the playbook written as an Ansible task. One mapping, read by the
// collection's generator (scripts/gen-ansible.mjs), the site (src/components/AnsibleTask.astro)
// and the tests, so that `--help`, `ansible-doc` and the runbook pages say the same thing.

export const NAMESPACE = 'xen_runbooks';
export const COLLECTION = 'xen';
export const FQCN_PREFIX = `${NAMESPACE}.${COLLECTION}`;
/** Where the collection lives in this repository (the layout `ansible-galaxy collection init` makes). */
export const COLLECTION_DIR = `ansible_collections/${NAMESPACE}/${COLLECTION}`;

/** `xen-qos` → `qos`, `pygrub-fix` → `pygrub_fix`: the collection is about Xen already. */
export function moduleName(playbook) {
  return playbook.replace(/^xen-/, '').replace(/-/g, '_');
}

/** `cpu-weight` → `cpu_weight`; a positional argument `DOMAIN` → `domain`. */
export const optionName = (name) => name.replace(/-/g, '_');
export const argName = (name) => name.toLowerCase().replace(/-/g, '_');

/**
 * The Ansible type of an option type of the engine (src/engine/options.ts). A size (`4G`, `512`)
 * is raw: YAML reads `2048` as a number and `4G` as a string, and the playbook reads both.
 */
export function ansibleType(type) {
  return { boolean: 'bool', integer: 'int', number: 'float', size: 'raw' }[type] ?? 'str';
}

/**
 * The argument_spec of a playbook's module: its positional arguments, then its options. No
 * defaults: the playbook applies its own, and sees which options were given (a default given
 * explicitly can mean something else, e.g. xcp-install's --sr-type).
 */
export function argumentSpec(d) {
  const spec = {};
  for (const a of d.args) spec[argName(a.name)] = { type: 'str', required: a.required !== false };
  for (const o of d.options) {
    // A repeatable option is a list: each element is given as the option once.
    const s = o.repeatable ? { type: 'list', elements: ansibleType(o.type) } : { type: ansibleType(o.type) };
    if (o.required) s.required = true;
    if (o.choices) s.choices = [...o.choices];
    spec[optionName(o.name)] = s;
  }
  return spec;
}

/** Split a command line of an example into words as a POSIX shell would (quotes, `\` newlines). */
export function shellWords(line) {
  const words = [];
  let word = null;
  let quote = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < line.length) word += line[++i];
      else word += c;
    } else if (c === '\\' && line[i + 1] === '\n') i++;
    else if (c === '\\' && i + 1 < line.length) word = (word ?? '') + line[++i];
    else if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else if (/\s/.test(c)) {
      if (word !== null) words.push(word);
      word = null;
    } else word = (word ?? '') + c;
  }
  if (word !== null) words.push(word);
  return words;
}

/**
 * A playbook's command line (without the program name) as a task: `args` the module's arguments,
 * `check` when it was a dry run, `host` the --host it named (in Ansible, the inventory's host).
 * Options the task does not carry (--yes, --json, --verbose, --ssh-config) are left out.
 */
export function taskFromCommandLine(d, line) {
  const words = typeof line === 'string' ? shellWords(line) : [...line];
  const byName = new Map(d.options.map((o) => [o.name, o]));
  const args = {};
  const positional = [];
  let check = false;
  let host;
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (!w.startsWith('--') || w === '--') {
      if (w !== '--') positional.push(w);
      continue;
    }
    const eq = w.indexOf('=');
    const name = eq > 0 ? w.slice(2, eq) : w.slice(2);
    const inline = eq > 0 ? w.slice(eq + 1) : undefined;
    const o = byName.get(name);
    if (name === 'dry-run') check = true;
    else if (name === 'host') host = inline ?? words[++i];
    else if (name === 'ssh-config' || name === 'root') i += inline === undefined ? 1 : 0;
    else if (!o) continue;
    else if (o.type === 'boolean') args[optionName(name)] = true;
    else if (o.repeatable) {
      const list = Array.isArray(args[optionName(name)]) ? args[optionName(name)] : [];
      args[optionName(name)] = [...list, typed(o.type, inline ?? words[++i])];
    } else args[optionName(name)] = typed(o.type, inline ?? words[++i]);
  }
  const out = {};
  d.args.forEach((a, i) => {
    if (positional[i] !== undefined) out[argName(a.name)] = positional[i];
  });
  return { args: { ...out, ...args }, check, host };
}

function typed(type, text) {
  if ((type === 'integer' || type === 'number') && /^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  return text;
}

/** A YAML scalar: plain when YAML reads it back as the same string, else double-quoted (JSON's escapes are YAML's). */
export function yamlScalar(v) {
  if (typeof v === 'boolean' || typeof v === 'number') return String(v);
  const s = String(v);
  const plain =
    /^[A-Za-z0-9_./~][A-Za-z0-9_./@~ ()-]*$/.test(s) &&
    !/ $/.test(s) &&
    !/^(true|false|yes|no|on|off|null|y|n|~)$/i.test(s) &&
    !/^[-+]?(\d[\d_]*)?(\.\d*)?([eE][-+]?\d+)?$/.test(s) &&
    !/^0[xo]/i.test(s);
  return plain ? s : JSON.stringify(s);
}

/** A small YAML writer for what the contract holds: maps, lists, strings, numbers, booleans. */
export function toYaml(value, indent = 0) {
  const pad = ' '.repeat(indent);
  if (Array.isArray(value)) {
    if (!value.length) return '[]';
    return value
      .map((v) => {
        if (v !== null && typeof v === 'object') {
          const inner = toYaml(v, indent + 2);
          return `${pad}- ${inner.slice(indent + 2)}`;
        }
        return `${pad}- ${yamlScalar(v)}`;
      })
      .join('\n');
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (!entries.length) return '{}';
    return entries
      .map(([k, v]) => {
        if (v !== null && typeof v === 'object' && (Array.isArray(v) ? v.length : Object.keys(v).length)) {
          return `${pad}${k}:\n${toYaml(v, indent + 2)}`;
        }
        return `${pad}${k}: ${v !== null && typeof v === 'object' ? toYaml(v) : yamlScalar(v)}`;
      })
      .join('\n');
  }
  return `${pad}${yamlScalar(value)}`;
}

/** The task as it is written in a playbook file. */
export function taskYaml(d, line, name) {
  const t = taskFromCommandLine(d, line);
  const task = {
    name: name ?? d.summary,
    [`${FQCN_PREFIX}.${moduleName(d.name)}`]: t.args,
    ...(t.check ? { check_mode: true } : {}),
  };
  return toYaml([task]);
}
