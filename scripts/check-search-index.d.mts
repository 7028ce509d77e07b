/** Types of check-search-index.mjs, for the TypeScript tests. */
export function searchIndexProblem(dist: string): string | undefined;
