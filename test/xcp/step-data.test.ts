// What a step relies on by the time it applies: an option its `when` required, the data its check computed.
import { describe, expect, it } from 'vitest';
import { change } from '../../src/engine/runner.js';
import { dataOf, need } from '../../src/playbooks/xcp-install/step-data.js';

describe('step data', () => {
  it('hands the check data to apply, and fails loudly when there is none', () => {
    expect(dataOf(change('x', { data: { device: '0' } }))).toEqual({ device: '0' });
    expect(dataOf(change('x', { data: 0 }))).toBe(0);
    expect(() => dataOf(change('x'))).toThrow(/without the data its check computed/);
  });

  it('gives the option value, or names the option that is missing', () => {
    expect(need('web01', 'vm-name')).toBe('web01');
    expect(need('', 'vm-name')).toBe('');
    expect(() => need(undefined, 'vm-name')).toThrow(/--vm-name is needed here/);
  });
});
