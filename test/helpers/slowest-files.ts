import path from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';

/** How many of the slowest test files `npm test` lists at its end. */
const SHOWN = 10;

const seconds = (ms: number) => `${(ms / 1000).toFixed(0)} s`;
const projectOf = (m: TestModule) => m.project.name || 'tests';

/**
 * A reporter that ends the run with its slowest test files (the time each took in its worker,
 * setup and imports included), so that a file that grows slow is seen where it is run, and with
 * the wall-clock span of each project (the unit files, then the lab's): on two cores the run's
 * length is the sum of the spans, not of the files.
 */
export default class SlowestFiles implements Reporter {
  private started = Date.now();
  private spans = new Map<string, { first: number; last: number }>();

  onTestRunStart(): void {
    this.started = Date.now();
  }

  onTestModuleStart(module: TestModule): void {
    if (!this.spans.has(projectOf(module))) this.spans.set(projectOf(module), { first: Date.now(), last: Date.now() });
  }

  onTestModuleEnd(module: TestModule): void {
    const span = this.spans.get(projectOf(module));
    if (span) span.last = Date.now();
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const rows = modules
      .map((m) => ({ file: path.relative(process.cwd(), m.moduleId), ms: m.diagnostic().duration }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, SHOWN);
    if (!rows.length) return;
    const lines = rows.map((r) => `  ${(r.ms / 1000).toFixed(1).padStart(7)} s  ${r.file}`);
    const spans = [...this.spans].map(
      ([name, s]) =>
        `  ${name}: from ${seconds(s.first - this.started)} to ${seconds(s.last - this.started)} (${seconds(s.last - s.first)})`,
    );
    process.stdout.write(
      `\nThe ${rows.length} slowest test files:\n${lines.join('\n')}\n\nWhen each project's files ran, from the run's start:\n${spans.join('\n')}\n`,
    );
  }
}
