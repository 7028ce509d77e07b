/**
 * Lighter highlighted code on a page. Expressive Code gives every token its colours inline, one
 * `<span style="--0:#82AAFF;--1:#3B61B0">` per token, and a runbook page that shows a playbook's
 * steps has thousands of them. Each distinct set of colours on the page becomes one class
 * (`ec-t0`, `ec-t1`, … in order of first use), declared once in a `<style>` in the page's head,
 * and the spans name their class. The colours are unchanged; src/styles/site.css applies them
 * as Expressive Code's own rule applies the inline ones.
 */

const TOKEN = /<span style="(--[01](?:[a-z]{2})?:[^"<>]*)">/g;

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
  const rules = [...classes].map(([style, name]) => `.${name}{${style}}`).join('');
  return `${html.slice(0, at)}<style>${rules}</style>${body}`;
}
