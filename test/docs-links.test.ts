// Every relative link in the repository's Markdown (README.md, docs/, training/README.md, ...) resolves: the file or
// folder it names exists, and an #anchor names a heading of that page (GitHub's heading ids). The README is cut
// down to a newcomer's page that points into docs/, so a moved or renamed page must not leave a dead link behind.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const SKIPPED_FOLDERS = new Set(['node_modules', 'dist', 'var', 'bench-out']);

/** The Markdown files of the checkout (hidden folders and build or run output left out). */
function markdownFiles(dir = REPO): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (name.startsWith('.') || SKIPPED_FOLDERS.has(name)) return [];
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return markdownFiles(path);
    return name.endsWith('.md') ? [path] : [];
  });
}

/** The text outside fenced code blocks, line by line. */
function proseLines(text: string): string[] {
  let fenced = false;
  return text.split('\n').filter((line) => {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      return false;
    }
    return !fenced;
  });
}

/** GitHub's id for a heading: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2, ... */
export function headingIds(text: string): Set<string> {
  const ids = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of proseLines(text)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const base = heading[1]
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    ids.add(count === 0 ? base : `${base}-${count}`);
  }
  return ids;
}

/** The link targets of a Markdown text: [text](target), ![alt](target), <img src>, <a href>; code left out. */
export function linkTargets(text: string): string[] {
  const targets: string[] = [];
  for (const raw of proseLines(text)) {
    const line = raw.replace(/`[^`]*`/g, '');
    for (const m of line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) targets.push(m[1]);
    for (const m of line.matchAll(/<(?:img|a)\s[^>]*?(?:src|href)="([^"]+)"/g)) targets.push(m[1]);
  }
  return targets;
}

/** The relative links of one Markdown file that do not resolve, each as "file: target (why)". */
export function deadLinks(file: string, text = readFileSync(file, 'utf8')): string[] {
  const dead: string[] = [];
  for (const target of linkTargets(text)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, file: ... are not relative
    const [pathPart, anchor] = target.split('#', 2);
    const path = pathPart === '' ? file : join(dirname(file), decodeURIComponent(pathPart));
    const where = `${relative(REPO, file)}: ${target}`;
    if (pathPart !== '' && !existsSync(path)) {
      dead.push(`${where} (no such file)`);
    } else if (anchor !== undefined && path.endsWith('.md')) {
      const page = pathPart === '' ? text : readFileSync(path, 'utf8');
      if (!headingIds(page).has(anchor)) dead.push(`${where} (no heading with that id in ${relative(REPO, path)})`);
    }
  }
  return dead;
}

describe('documentation links', () => {
  it('every relative link and anchor in the Markdown files resolves', () => {
    const files = markdownFiles();
    expect(files.map((f) => relative(REPO, f))).toEqual(expect.arrayContaining(['README.md', 'training/README.md']));
    const links = files.flatMap((file) => linkTargets(readFileSync(file, 'utf8')));
    expect(links.length).toBeGreaterThan(20);
    expect(files.flatMap((file) => deadLinks(file))).toEqual([]);
  });

  it('would catch a missing page, a missing anchor and a missing image', () => {
    const page = join(REPO, 'docs', 'example.md');
    const text = [
      '# A page',
      '## Its `config` (SIGHUP)',
      '',
      'See [here](#its-config-sighup), [there](cli.md) and [gone](gone.md).',
      'Also [a heading that is not there](#nowhere), [the model](../models/nothing.onnx) and',
      '<img src="../test/screenshots/none.png" alt="x">. `[code](is-not-a-link.md)` and [web](https://example.org/x).',
      '```',
      '[fenced](neither.md)',
      '```',
    ].join('\n');
    expect(deadLinks(page, text)).toEqual([
      'docs/example.md: gone.md (no such file)',
      'docs/example.md: #nowhere (no heading with that id in docs/example.md)',
      'docs/example.md: ../models/nothing.onnx (no such file)',
      'docs/example.md: ../test/screenshots/none.png (no such file)',
    ]);
  });
});
