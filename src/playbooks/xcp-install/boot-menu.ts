/** The Xen entry of a GRUB 2 menu (grub.cfg as grub-mkconfig writes it) and its default. */
import { fail } from '../../engine/errors.js';
import type { FileEdit } from '../../engine/files.js';
import type { Context } from '../../engine/runner.js';
import { grubDefaultValue, setGrubDefault } from '../../grub/index.js';
import { warnRunsHere } from './workarounds.js';

export const GRUB_DEFAULTS = '/etc/default/grub';
export const GRUB_CFG = '/boot/grub/grub.cfg';

export interface MenuEntry {
  kind: 'menuentry' | 'submenu';
  title: string;
}

/** Titles of the top-level menu entries and submenus of a GRUB 2 config. */
export function topLevelMenu(cfg: string): MenuEntry[] {
  const entries: MenuEntry[] = [];
  let depth = 0;
  for (const raw of cfg.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#')) continue;
    if (depth === 0) {
      const m = /^(menuentry|submenu)\s+(?:'((?:[^']|'\\'')*)'|"((?:[^"\\]|\\.)*)"|(\S+))/.exec(line);
      if (m) {
        const title =
          m[2] !== undefined
            ? m[2].replace(/'\\''/g, "'")
            : m[3] !== undefined
              ? m[3].replace(/\\(.)/g, '$1')
              : (m[4] ?? '');
        entries.push({ kind: m[1] === 'submenu' ? 'submenu' : 'menuentry', title });
      }
    }
    const unquoted = line.replace(/'[^']*'|"(?:[^"\\]|\\.)*"/g, '');
    depth += (unquoted.match(/\{/g) ?? []).length - (unquoted.match(/\}/g) ?? []).length;
    if (depth < 0) depth = 0;
  }
  return entries;
}

/** The first top-level entry (or submenu) that boots Xen, recovery mode left aside. */
export function xenEntry(cfg: string): (MenuEntry & { xenVersion?: string }) | undefined {
  const chosen = topLevelMenu(cfg).find((e) => /\bXen\b/.test(e.title) && !/recovery mode/.test(e.title));
  if (!chosen) return undefined;
  const version = /Xen ([0-9]+\.[0-9]+)/.exec(chosen.title)?.[1];
  return version ? { ...chosen, xenVersion: version } : chosen;
}

/** /etc/default/grub with GRUB_DEFAULT set to this title (unchanged when it already is). */
export function withGrubDefault(text: string, title: string): string {
  return grubDefaultValue(text) === title ? text : setGrubDefault(text, title);
}

/** What to look at when grub.cfg has no Xen entry. */
export const NO_XEN_ENTRY_HINT =
  'is the Xen hypervisor package installed? run update-grub and look for "Xen" in the menu';

/** The `set default="…"` grub-mkconfig wrote into grub.cfg. */
export function cfgDefault(cfg: string): string | undefined {
  return /^set default="(.*)"$/m.exec(cfg)?.[1];
}

/**
 * Write GRUB_DEFAULT (the planned edit of /etc/default/grub, when it changes it), run update-grub, and
 * fail unless grub.cfg then defaults to the title.
 */
export async function setDefaultAndUpdateGrub(
  ctx: Pick<Context, '$' | 'host' | 'log' | 'applyEdit'>,
  edit: FileEdit,
  title: string,
): Promise<void> {
  if (edit.changed) await ctx.applyEdit(edit);
  warnRunsHere(ctx, 'update-grub runs');
  await ctx.$`update-grub`;
  if (cfgDefault((await ctx.host.readText(GRUB_CFG)) ?? '') !== title) {
    throw fail(
      `update-grub ran but ${GRUB_CFG} does not default to "${title}"`,
      `look at ${GRUB_DEFAULTS} and /etc/grub.d`,
    );
  }
}
