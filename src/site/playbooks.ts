/**
 * Reads the playbooks the way the runbook pages show them: the source, each step's code by
 * its id, and the declarations (`--describe`). Used at build time by the components and by the
 * tests that keep pages and playbooks in step.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import type { PlaybookDescription } from '../engine/runner.js';

export const REPO_ROOT = process.cwd();

export function playbookFile(name: string, root = REPO_ROOT): string {
  if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`not a playbook name: ${name}`);
  return path.join(root, 'playbooks', `${name}.mjs`);
}

export function listPlaybooks(root = REPO_ROOT): string[] {
  return readdirSync(path.join(root, 'playbooks'))
    .filter((f) => f.endsWith('.mjs'))
    .map((f) => f.slice(0, -4))
    .sort();
}

export function readPlaybook(name: string, root = REPO_ROOT): string {
  return readFileSync(playbookFile(name, root), 'utf8');
}

/** Where the site shows a playbook's whole source: one page per playbook, apart from its runbook. */
export function sourcePagePath(name: string): string {
  if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`not a playbook name: ${name}`);
  return `/playbooks/${name}/source/`;
}

export interface StepSource {
  id: string;
  /** 1-based lines in the playbook file. */
  startLine: number;
  endLine: number;
  /** The step's code, dedented. */
  code: string;
}

/** Every `step('id', …)` / `fileStep('id', …)` call in a playbook's source, in order. */
export function extractSteps(source: string, fileName = 'playbook.mjs'): StepSource[] {
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
  const steps: StepSource[] = [];
  const visit = (node: ts.Node) => {
    if (
      ts.isCallExpression(node) &&
      ts.isIdentifier(node.expression) &&
      /^(step|[a-z]\w*Step)$/.test(node.expression.text) &&
      node.arguments.length >= 2
    ) {
      const first = node.arguments[0];
      if (first && ts.isStringLiteralLike(first)) {
        const start = node.getStart(sf);
        const startPos = sf.getLineAndCharacterOfPosition(start);
        const endPos = sf.getLineAndCharacterOfPosition(node.getEnd());
        const lines = source.slice(start - startPos.character, node.getEnd()).split('\n');
        const indent = startPos.character;
        const code = lines
          .map((l, i) =>
            i === 0 ? l.slice(indent) : l.startsWith(' '.repeat(indent)) ? l.slice(indent) : l.trimStart(),
          )
          .join('\n');
        steps.push({ id: first.text, startLine: startPos.line + 1, endLine: endPos.line + 1, code });
        return; // steps do not nest
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return steps;
}

export function stepSource(name: string, id: string, root = REPO_ROOT): StepSource {
  const steps = extractSteps(readPlaybook(name, root), `${name}.mjs`);
  const found = steps.find((s) => s.id === id);
  if (!found) {
    throw new Error(
      `playbooks/${name}.mjs has no step '${id}' (it has: ${steps.map((s) => s.id).join(', ') || 'none'})`,
    );
  }
  return found;
}

const described = new Map<string, PlaybookDescription>();

/** The playbook's own declarations, as `--describe` prints them (the engine must be built). */
export function describePlaybook(name: string, root = REPO_ROOT): PlaybookDescription {
  const key = `${root}:${name}`;
  const cached = described.get(key);
  if (cached) return cached;
  let out: string;
  try {
    out = execFileSync(process.execPath, [playbookFile(name, root), '--describe'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NODE_ENV: 'production' },
    });
  } catch (e) {
    throw new Error(
      `playbooks/${name}.mjs --describe failed (is the engine built? npm run build:lib): ${(e as Error).message}`,
    );
  }
  const d = JSON.parse(out) as PlaybookDescription;
  described.set(key, d);
  return d;
}

/** Step ids a page shows with <PlaybookStep playbook="NAME" id="ID" />. */
export function stepsShownOnPage(mdx: string): { playbook: string; id: string }[] {
  const found: { playbook: string; id: string }[] = [];
  const re = /<PlaybookStep\b([^>]*)\/?>/g;
  for (const m of mdx.matchAll(re)) {
    const attrs = m[1] ?? '';
    const pb = /\bplaybook=["']([^"']+)["']/.exec(attrs)?.[1];
    const id = /\bid=["']([^"']+)["']/.exec(attrs)?.[1];
    if (pb && id) found.push({ playbook: pb, id });
  }
  return found;
}
