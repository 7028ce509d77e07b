// @ts-check
// Expressive Code (the site's code blocks). Its options live here rather than in astro.config.mjs
// because Starlight's <Code> component, which the runbook pages use, can only take plugins from
// this file (astro.config.mjs options are serialized, and a plugin is code).
import { defineEcConfig } from '@astrojs/starlight/expressive-code';
import { selectAll } from '@astrojs/starlight/expressive-code/hast';

/** @typedef {import('@astrojs/starlight/expressive-code/hast').Element} Element */
/** @typedef {import('@astrojs/starlight/expressive-code/hast').ElementContent} ElementContent */

/**
 * Every code block can be reached with the keyboard. A block wider than its column scrolls, and a
 * scrolling region must take focus so that it can be scrolled without a mouse (WCAG 2.1.1).
 * Expressive Code's own script gives a scrolling block a tabindex only once the page is idle and
 * its sizes are measured, and drops the tabindex again from a block that does not scroll: with the
 * tabindex written into the HTML, every block is reachable from the first paint, with or without
 * that script, and the script still takes the stop away where there is nothing to scroll.
 * @type {import('@astrojs/starlight/expressive-code').ExpressiveCodePlugin}
 */
const focusableCodeBlocks = {
  name: 'Focusable code blocks',
  hooks: {
    postprocessRenderedBlock: ({ renderData }) => {
      for (const pre of selectAll('pre', renderData.blockAst)) pre.properties.tabIndex = 0;
    },
  },
};

/** Whitespace and punctuation: shown in the block's text colour, not a colour of their own. */
const PLAIN = /^[\s()[\]{},.;:'"`]*$/;

/**
 * A highlighted token: a `<span>` with its colours inline around its text.
 * @param {ElementContent} node
 * @returns {boolean}
 */
const isToken = (node) =>
  node.type === 'element' &&
  node.tagName === 'span' &&
  node.properties.className === undefined &&
  typeof node.properties.style === 'string' &&
  node.children.length === 1 &&
  node.children[0]?.type === 'text';

/** @param {ElementContent} token a node isToken() accepts */
const tokenText = (token) => /** @type {{ value: string }} */ (/** @type {Element} */ (token).children[0]).value;

/** @param {ElementContent} node */
const styleOf = (node) => (node.type === 'element' ? node.properties.style : undefined);

/**
 * Lighter highlighted code. The runbook pages show every step of a playbook, and each token of
 * highlighted code is a `<span>` with its colours inline: whitespace and punctuation lose their own
 * colour and become text, and neighbouring tokens of one colour become one span. The colours of
 * names, keywords, strings and comments are untouched.
 * @param {Element} parent
 */
function mergeTokens(parent) {
  /** @type {ElementContent[]} */
  const out = [];
  for (const child of parent.children) {
    /** @type {ElementContent} */
    let node = child;
    if (isToken(child)) {
      const text = tokenText(child);
      node = PLAIN.test(text)
        ? { type: 'text', value: text }
        : { .../** @type {Element} */ (child), children: [{ type: 'text', value: text }] };
    } else if (child.type === 'element') mergeTokens(child);
    const last = out.at(-1);
    if (last?.type === 'text' && node.type === 'text') last.value += node.value;
    else if (last && isToken(last) && isToken(node) && styleOf(last) === styleOf(node)) {
      /** @type {Element} */ (last).children = [{ type: 'text', value: tokenText(last) + tokenText(node) }];
    } else out.push(node);
  }
  parent.children = out;
}

/** @type {import('@astrojs/starlight/expressive-code').ExpressiveCodePlugin} */
const lighterTokens = {
  name: 'Lighter tokens',
  hooks: {
    postprocessRenderedBlock: ({ renderData }) => {
      for (const line of selectAll('.ec-line > .code', renderData.blockAst)) mergeTokens(line);
    },
  },
};

/**
 * A block whose meta says `copy=false` has no copy button: a step shown on a runbook page is read,
 * not pasted (the button carries a second copy of the code in its `data-code`).
 * @type {import('@astrojs/starlight/expressive-code').ExpressiveCodePlugin}
 */
const optionalCopyButton = {
  name: 'Optional copy button',
  hooks: {
    postprocessRenderedBlock: ({ codeBlock, renderData }) => {
      if (codeBlock.metaOptions.getBoolean('copy') !== false) return;
      for (const parent of selectAll('figure', renderData.blockAst)) {
        parent.children = parent.children.filter(
          (c) =>
            !(c.type === 'element' && Array.isArray(c.properties.className) && c.properties.className.includes('copy')),
        );
      }
    },
  },
};

export default defineEcConfig({
  plugins: [focusableCodeBlocks, lighterTokens, optionalCopyButton],
  // Long commands, configs and output wrap inside their block (continuation lines indented)
  // instead of running past a phone's edge; the copy button still copies each line whole. The
  // playbooks' JavaScript keeps its lines and scrolls: wrapping it would add an element per
  // indented line to pages that show every step. The continuation indent is one rule in
  // src/styles/site.css: as a hanging indent here it is a style attribute on every line.
  defaultProps: {
    wrap: false,
    overridesByLang: {
      'sh,bash,shell,console,text,txt,python,diff,ini,plaintext': {
        wrap: true,
        preserveIndent: false,
      },
    },
  },
});
