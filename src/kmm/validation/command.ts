import { parseAllDocuments } from 'yaml';
import { type Command, readInputText, UsageError } from '../../command/index.js';
import { isMap } from '../../runtime/objects.js';
import { formatErrors } from './fields.js';
import { validateKmmObject, type ObjectReport } from './objects.js';

/** Exit code of `hwe kmm validate` when some object is invalid (SPEC §4). */
const EXIT_INVALID = 1;

async function readInput(path: string): Promise<string> {
  try {
    return await readInputText(path);
  } catch (e) {
    throw new UsageError(`${path}: cannot read: ${(e as Error).message}`);
  }
}

/** Reports of every KMM object in a multi-document YAML (or JSON) text; other kinds skipped. */
export function validateDocuments(text: string, file: string): ObjectReport[] {
  const out: ObjectReport[] = [];
  parseAllDocuments(text).forEach((d, i) => {
    if (d.errors.length) {
      throw new UsageError(`${file}: document ${i + 1} is not valid YAML: ${d.errors[0]!.message}`);
    }
    const v: unknown = d.toJS();
    // A List (kubectl get -o yaml) holds the objects in items.
    const items = isMap(v) && Array.isArray(v['items']) ? (v['items'] as unknown[]) : [v];
    for (const item of items) {
      const r = validateKmmObject(item);
      if (r) out.push(r);
    }
  });
  return out;
}

function label(r: ObjectReport): string {
  const name = r.namespace ? `${r.namespace}/${r.name ?? ''}` : (r.name ?? '(no name)');
  return `${r.kind} ${name}`;
}

export const validateCommand: Command = {
  name: 'validate',
  summary: 'run the KMM admission checks on the objects of YAML files',
  usage: 'FILE.yaml...',
  description:
    'Checks every Module, PreflightValidation, PreflightValidationOCP and ManagedClusterModule\n' +
    'in the files (multi-document YAML, JSON, or List objects; "-" reads standard input) with\n' +
    'the checks the KMM admission webhook makes, and prints a JSON report. Other kinds are\n' +
    'skipped. Each invalid object gets a line on stderr naming the field at fault.\n' +
    'Exit status: 0 all valid; 1 some object invalid; 2 unreadable input or no KMM object.',
  run: async ({ args, stdout, stderr }) => {
    if (args.length === 0) throw new UsageError('give at least one FILE.yaml ("-" for stdin)');
    const objects: (ObjectReport & { file: string; valid: boolean })[] = [];
    for (const file of args) {
      const text = await readInput(file);
      for (const r of validateDocuments(text, file)) {
        objects.push({ file, ...r, valid: r.errors.length === 0 });
      }
    }
    if (objects.length === 0) {
      throw new UsageError(`no KMM object in ${args.join(', ')}`);
    }
    for (const o of objects) {
      if (!o.valid) stderr.write(`${o.file}: ${label(o)}: ${formatErrors(o.errors)}\n`);
    }
    const valid = objects.every((o) => o.valid);
    stdout.write(`${JSON.stringify({ valid, objects }, null, 2)}\n`);
    return valid ? 0 : EXIT_INVALID;
  },
};
