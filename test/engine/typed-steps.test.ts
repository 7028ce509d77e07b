// Steps see their playbook's options and state with types: no cast reaches them.
// The @ts-expect-error lines are checked by `npm run check` (tsc -p tsconfig.json): if the
// engine lost the types, they would stop being errors and tsc would fail.
import { describe, expect, it } from 'vitest';
import { change, definePlaybook, ok } from '../../src/engine/index.js';

function demo(seen: string[]) {
  return definePlaybook({
    name: 'typed-demo',
    summary: 'Typed steps',
    options: {
      count: { type: 'number', default: 2, description: 'How many' },
      label: { type: 'string', description: 'A label' },
    },
    state: () => ({ found: [] as string[], total: 0 }),
    steps: ({ step }) => [
      step('find', {
        title: 'Find',
        check(ctx) {
          const n: number = ctx.opts.count;
          ctx.state.found.push(`x${n}`);
          ctx.state.total = n;
          // @ts-expect-error: the state has no such key
          void ctx.state.missing;
          // @ts-expect-error: count is a number, not a string
          const wrong: string = ctx.opts.count;
          void wrong;
          return ok(`found ${ctx.state.found.length}`);
        },
      }),
      step('use', {
        title: 'Use',
        check(ctx) {
          seen.push(...ctx.state.found, String(ctx.state.total), ctx.opts.label ?? 'no label');
          return change('use it', { data: ctx.state.total });
        },
        apply(_ctx, c) {
          const d: number = c.data;
          return `used ${d}`;
        },
      }),
    ],
  });
}

describe('typed steps', () => {
  it('a run starts from state() and steps share it; each run gets a fresh state', async () => {
    const seen: string[] = [];
    const pb = demo(seen);
    expect(pb.steps.map((s) => s.id)).toEqual(['find', 'use']);
    const stdout = process.stdout.write;
    process.stdout.write = (() => true) as typeof process.stdout.write;
    try {
      await pb.run(['--count', '3', '--dry-run']);
      await pb.run(['--count', '5', '--label', 'b', '--dry-run']);
    } finally {
      process.stdout.write = stdout;
    }
    expect(seen).toEqual(['x3', '3', 'no label', 'x5', '5', 'b']);
  });

  it('a step id used twice is refused when the steps are made by a function', () => {
    expect(() =>
      definePlaybook({
        name: 'twice',
        summary: 'x',
        options: {},
        steps: ({ step }) => [
          step('a', { title: 'A', check: () => ok('') }),
          step('a', { title: 'B', check: () => ok('') }),
        ],
      }),
    ).toThrow(/used twice/);
  });
});
