// Applies compactCodeTokens to every HTML page the site renders (at build time for a static site).
import type { MiddlewareHandler } from 'astro';
import { compactCodeTokens } from './code-tokens.ts';

export const onRequest: MiddlewareHandler = async (_context, next) => {
  const response = await next();
  if (!response.headers.get('content-type')?.startsWith('text/html')) return response;
  const html = compactCodeTokens(await response.text());
  return new Response(html, { status: response.status, statusText: response.statusText, headers: response.headers });
};
