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

/** @param {ElementContent} node */
const isToken = (node) =>
  node.type === 'element' &&
  node.tagName === 'span' &&
  node.properties.className === undefined &&
  typeof node.properties.style === 'string';

/** @param {ElementContent} node */
const textOf = (node) =>
  node.type === 'text'
    ? node.value
    : node.type === 'element' && node.children[0]?.type === 'text'
      ? node.children[0].value
      : undefined;

/**
 * Lighter highlighted code. The runbook pages show every step of a playbook, and each token of
 * highlighted code is a `<span>` with its colours inline, about 45 bytes: whitespace and punctuation
 * lose their own colour and become text, and neighbouring tokens of one colour become one span.
 * The colours of names, keywords, strings and comments are untouched.
 * @param {Element} parent
 */
function mergeTokens(parent) {
  /** @type {ElementContent[]} */
  const out = [];
  for (const child of parent.children) {
    if (child.type === 'element' && !isToken(child)) mergeTokens(child);
    let node = child;
    const text = textOf(child);
    if (isToken(child) && child.children.length === 1 && text !== undefined && PLAIN.test(text)) {
      node = { type: 'text', value: text };
    }
    const last = out.at(-1);
    if (last?.type === 'text' && node.type === 'text') last.value += node.value;
    else if (
      last &&
      isToken(last) &&
      isToken(node) &&
      node.type === 'element' &&
      last.type === 'element' &&
      last.properties.style === node.properties.style &&
      textOf(last) !== undefined &&
      textOf(node) !== undefined &&
      last.children[0]?.type === 'text'
    ) {
      last.children[0].value += textOf(node);
    } else out.push(node.type === 'element' && isToken(node) ? { ...node, children: [...node.children] } : node);
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
});
