import { readFile } from 'node:fs/promises';

/** The text of a file named on the command line; `-` reads standard input, as Unix tools do. */
export async function readInputText(path: string): Promise<string> {
  if (path !== '-') return readFile(path, 'utf8');
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
