// Stream a list of paths from a readable (stdin), one per line or NUL-separated, without holding the whole list.
import type { Readable } from 'node:stream';

export async function* readPathList(input: Readable, separator: '\n' | '\0'): AsyncGenerator<string> {
  let rest = '';
  input.setEncoding('utf8');
  for await (const chunk of input as AsyncIterable<string>) {
    const text = rest + chunk;
    let from = 0;
    let at: number;
    while ((at = text.indexOf(separator, from)) >= 0) {
      if (at > from) yield text.slice(from, at);
      from = at + 1;
    }
    rest = text.slice(from);
  }
  if (rest !== '') yield rest;
}
