/** The text of a file named on the command line; `-` reads standard input, as Unix tools do. */
export async function readInputText(path: string): Promise<string> {
  if (path !== '-') {
    // Loaded here, not at the top: a program that never reads input (the one-file nfd-worker)
    // then does not load fs/promises and the modules it brings.
    const { readFile } = await import('node:fs/promises');
    return readFile(path, 'utf8');
  }
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
