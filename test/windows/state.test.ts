// A step's apply gets what its check planned, or fails in words.
import { describe, expect, it } from 'vitest';
import { change, StepError } from 'xen-runbooks/engine';
import { planOf } from 'xen-runbooks/playbooks/windows-hvm/state';

describe('planOf', () => {
  it("gives the check's plan; no plan is a step failure", () => {
    expect(planOf(change('create', { data: 40 }))).toBe(40);
    expect(planOf(change('zero', { data: 0 }))).toBe(0);
    expect(() => planOf(change('x'))).toThrow(StepError);
  });
});
