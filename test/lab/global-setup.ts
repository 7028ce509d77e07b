/**
 * vitest's global setup: the lab test files of one run share their boots (test/lab/lab.ts); when
 * the run ends, the lab it booted is stopped here. Runs that use no lab only read that no lab is up.
 */
import type { TestProject } from 'vitest/node';
import { stopRunLab } from './lab.js';

declare module 'vitest' {
  export interface ProvidedContext {
    labRun: number;
  }
}

export default function setup(project: TestProject): () => Promise<void> {
  project.provide('labRun', process.pid);
  return () => stopRunLab(process.pid);
}
