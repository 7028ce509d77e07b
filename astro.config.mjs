// @ts-check
import { defineConfig } from 'astro/config';
import starlight from '@astrojs/starlight';

export default defineConfig({
  site: 'https://xen-runbooks.github.io',
  trailingSlash: 'always',
  integrations: [
    starlight({
      title: 'xen-runbooks',
      description:
        'Runbooks for Xen and XCP-ng administrators, each backed by a playbook that really runs: dry-run first, backups always.',
      lastUpdated: false,
      pagefind: true,
      sidebar: [
        { label: 'Start here', items: [{ label: 'Overview', link: '/' }] },
        { label: 'Runbooks', autogenerate: { directory: 'runbooks' } },
        { label: 'Reference', autogenerate: { directory: 'reference' } },
      ],
      customCss: ['./src/styles/site.css'],
    }),
  ],
});
