/** See in-process.mjs. */
export interface Answer {
  code: number;
  stdout: string;
  stderr: string;
}
export function answerSimulated(argv: readonly string[]): Answer | undefined;
