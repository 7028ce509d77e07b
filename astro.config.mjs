// @ts-check
import { readdirSync, readFileSync } from 'node:fs';
import { defineConfig } from 'astro/config';
import starlight from '@astrojs/starlight';
import { repositoryUrl } from './src/site/repository.ts';
import rehypeTableLabels from './src/site/table-labels.ts';

/**
 * The pages of one folder of content/docs/, ordered by `sidebar.order` then title. Starlight's
 * own `autogenerate` expects src/content/docs/, and the content lives at the top of the repository.
 * @param {string} dir
 */
function pagesIn(dir) {
  const base = new URL(`./content/docs/${dir}/`, import.meta.url);
  return readdirSync(base)
    .filter((f) => /^[^_].*\.mdx?$/.test(f))
    .map((f) => {
      const text = readFileSync(new URL(f, base), 'utf8');
      const front = /^---\n([\s\S]*?)\n---/.exec(text)?.[1] ?? '';
      const order = Number(/^\s+order:\s*(\d+)/m.exec(front)?.[1] ?? 1000);
      const title = /^title:\s*(.*)$/m.exec(front)?.[1] ?? f;
      return { slug: `${dir}/${f.replace(/\.mdx?$/, '')}`, order, title };
    })
    .sort((a, b) => a.order - b.order || a.title.localeCompare(b.title))
    .map((p) => p.slug);
}

/**
 * Highlighted code on every page names its colours by class rather than inline
 * (src/site/code-tokens.ts): the runbook pages show many steps of code.
 * @type {import('astro').AstroIntegration}
 */
const compactCode = {
  name: 'xen-runbooks:compact-code',
  hooks: {
    'astro:config:setup': ({ addMiddleware }) => {
      addMiddleware({ entrypoint: new URL('./src/site/code-tokens-middleware.ts', import.meta.url), order: 'post' });
    },
  },
};

export default defineConfig({
  site: 'https://xen-runbooks.github.io',
  trailingSlash: 'always',
  build: { inlineStylesheets: 'never' },
  // Markdown tables name each cell's column (data-label): read as cards on a phone.
  markdown: { rehypePlugins: [rehypeTableLabels] },
  integrations: [
    starlight({
      title: 'xen-runbooks',
      description:
        'Runbooks for Xen and XCP-ng administrators, each backed by a playbook that really runs: dry-run first, backups always.',
      lastUpdated: false,
      // Every page links to its source file (content/docs/…) in the repository.
      editLink: { baseUrl: `${repositoryUrl()}/edit/main/` },
      pagefind: true,
      sidebar: [
        {
          label: 'Start here',
          items: [
            { label: 'Overview', link: '/' },
            { label: 'Get the playbooks', link: '/get-the-playbooks/' },
          ],
        },
        { label: 'Runbooks', items: pagesIn('runbooks') },
        { label: 'Guides', items: pagesIn('guides') },
        { label: 'Reference', items: pagesIn('reference') },
      ],
      customCss: ['./src/styles/site.css'],
      components: { Footer: './src/components/Footer.astro' },
    }),
    compactCode,
  ],
});
