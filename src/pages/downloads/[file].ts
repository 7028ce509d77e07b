// The package and the Ansible collection, served by the site as built files (src/site/downloads.ts).
import { readFileSync } from 'node:fs';
import type { APIRoute, GetStaticPaths } from 'astro';
import { downloads } from '../../site/downloads.ts';

export const getStaticPaths = (() => {
  const { pkg, collection } = downloads();
  return [pkg, ...(collection ? [collection] : [])].map((d) => ({
    params: { file: d.name },
    props: { file: d.file },
  }));
}) satisfies GetStaticPaths;

export const GET: APIRoute = ({ props }) =>
  new Response(readFileSync((props as { file: string }).file), {
    headers: { 'content-type': 'application/gzip' },
  });
