/**
 * A rehype plugin for the site's Markdown tables: every body cell gets its column's heading as
 * `data-label`, so that on a phone (src/styles/site.css) a wide table can be read as one card per
 * row, each cell under its column's name, instead of columns squeezed until words break.
 */
interface Node {
  type: string;
  tagName?: string;
  properties?: Record<string, unknown>;
  children?: Node[];
  value?: string;
}

const textOf = (n: Node): string => (n.type === 'text' ? (n.value ?? '') : (n.children ?? []).map(textOf).join(''));
const elements = (n: Node | undefined, tag: string): Node[] =>
  (n?.children ?? []).filter((c) => c.type === 'element' && c.tagName === tag);

function labelTable(table: Node): void {
  const head = elements(table, 'thead')[0];
  const headings = elements(elements(head, 'tr')[0], 'th').map((th) => textOf(th).trim());
  if (!headings.length) return;
  for (const body of elements(table, 'tbody')) {
    for (const tr of elements(body, 'tr')) {
      elements(tr, 'td').forEach((td, i) => {
        const label = headings[i];
        if (label) td.properties = { ...td.properties, dataLabel: label };
      });
    }
  }
}

function walk(n: Node): void {
  if (n.type === 'element' && n.tagName === 'table') labelTable(n);
  for (const c of n.children ?? []) walk(c);
}

export default function rehypeTableLabels() {
  return (tree: Node) => walk(tree);
}
