/**
 * Lighter highlighted code on a page. Expressive Code gives every token its colours inline, one
 * `<span style="--0:#82AAFF;--1:#3B61B0">` per token, and a runbook page that shows a playbook's
 * steps has thousands of them. Each distinct set of colours on the page becomes one class
 * (`ec-t0`, `ec-t1`, … in order of first use), declared once in a `<style>` in the page's head,
 * and the spans name their class. The colours are unchanged; src/styles/site.css applies them
 * as Expressive Code's own rule applies the inline ones.
 *
 * Tokens of the same class with only spaces between them become one span (`cat /etc/a /etc/b`
 * is one span of arguments, not two): a space takes the colour and the slant of its neighbours
 * and shows neither. Classes that paint a background or a line under the text are left apart,
 * since those would show under the space.
 */

const TOKEN = /<span style="(--[01](?:[a-z]{2})?:[^"<>]*)">/g;
const CLASSED = /<span class="(ec-t[0-9a-z]+)">([^<]*)<\/span>/g;
const SHOWS_ON_SPACE = /--[01](?:bg|td):/;

export function compactCodeTokens(html: string): string {
  const at = html.indexOf('</head>');
  if (at < 0) return html;
  const classes = new Map<string, string>();
  const body = html.slice(at).replace(TOKEN, (_m, style: string) => {
    let name = classes.get(style);
    if (name === undefined) {
      name = `ec-t${classes.size.toString(36)}`;
      classes.set(style, name);
    }
    return `<span class="${name}">`;
  });
  if (!classes.size) return html;
  const apart = new Set([...classes].filter(([style]) => SHOWS_ON_SPACE.test(style)).map(([, name]) => name));
  const rules = [...classes].map(([style, name]) => `.${name}{${style}}`).join('');
  return `${html.slice(0, at)}<style>${rules}</style>${mergeNeighbours(body, apart)}`;
}

/** One span for a run of same-class tokens with only spaces between them. */
function mergeNeighbours(body: string, apart: ReadonlySet<string>): string {
  let out = '';
  // Where the last token ended in BODY, and its class: its span is left open in OUT.
  let last = 0;
  let open: string | undefined;
  for (const m of body.matchAll(CLASSED)) {
    const name = m[1] as string;
    const text = m[2] as string;
    const gap = body.slice(last, m.index);
    if (open === name && !apart.has(name) && /^[ \t]*$/.test(gap)) out += gap + text;
    else out += `${open ? '</span>' : ''}${gap}<span class="${name}">${text}`;
    open = name;
    last = m.index + m[0].length;
  }
  return `${out}${open ? '</span>' : ''}${body.slice(last)}`;
}
