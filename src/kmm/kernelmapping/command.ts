import { parseAllDocuments } from 'yaml';
import { type Command, readInputText, UsageError } from '../../command/index.js';
import { decodeAll } from '../../api/decode.js';
import { ObjectHeader } from '../../api/resource.js';
import { decodeModule } from './decode.js';
import { compileKernelMapper } from './mapper.js';
import { quoteValue } from '../../runtime/quote.js';

/** Exit code of `hwe kmm resolve` when no kernel mapping matches (SPEC §4). */
const EXIT_NO_MATCH = 3;

async function readInput(path: string): Promise<string> {
  try {
    return await readInputText(path);
  } catch (e) {
    throw new UsageError(`--module ${path}: cannot read: ${(e as Error).message}`);
  }
}

/** The one Module document of the file (or the one named by --name). */
function pickModule(text: string, file: string, name: string | undefined): unknown {
  const docs = parseAllDocuments(text);
  const values: unknown[] = [];
  for (const d of docs) {
    if (d.errors.length) {
      const err = d.errors[0]!;
      throw new UsageError(`--module ${file}: not valid YAML: ${err.message}`);
    }
    const v: unknown = d.toJS();
    if (v !== null && v !== undefined) values.push(v);
  }
  const header = (v: unknown) => decodeAll(ObjectHeader, v).value;
  const kindOf = (v: unknown) => header(v)?.kind;
  const nameOf = (v: unknown) => header(v)?.metadata?.name;
  // A lone document is taken as the Module (decoding reports a wrong kind); in a multi-document
  // file, the Module objects are picked out of the other objects (ConfigMaps, Secrets…).
  let modules = values.length === 1 ? values : values.filter((v) => kindOf(v) === 'Module');
  if (name !== undefined) modules = modules.filter((v) => nameOf(v) === name);
  if (modules.length === 1) return modules[0];
  if (modules.length === 0) {
    throw new UsageError(
      `--module ${file}: no Module${name === undefined ? '' : ` named "${name}"`} in the file`,
    );
  }
  throw new UsageError(
    `--module ${file}: ${modules.length} Modules (${modules.map(nameOf).join(', ')}); ` +
      'choose one with --name',
  );
}

export const resolveCommand: Command = {
  name: 'resolve',
  summary: 'show the kernel mapping a Module uses for a kernel (image, build, sign)',
  description:
    'Prints, as JSON, what KMM would use for nodes running the given kernel: the first matching\n' +
    'entry of spec.moduleLoader.container.kernelMappings, merged with the container-level\n' +
    'defaults, with ${KERNEL_FULL_VERSION}, ${KERNEL_VERSION}, ${KERNEL_XYZ}, ${KERNEL_X},\n' +
    '${KERNEL_Y}, ${KERNEL_Z}, ${MOD_NAME} and ${MOD_NAMESPACE} substituted.\n' +
    'Exit status: 0 found; 3 no mapping matches the kernel; 2 invalid Module or kernel version.',
  flags: [
    {
      name: 'module',
      type: 'string',
      placeholder: 'FILE',
      help: 'YAML or JSON file with the Module ("-" reads standard input)',
    },
    {
      name: 'kernel',
      type: 'string',
      placeholder: 'VERSION',
      help: 'kernel release as `uname -r` prints it, e.g. 5.14.0-284.30.1.el9_2.x86_64',
    },
    {
      name: 'name',
      type: 'string',
      placeholder: 'NAME',
      help: 'which Module, when the file holds several',
    },
  ],
  run: async ({ flags, args, stdout, stderr, path }) => {
    const file = flags.module as string | undefined;
    const kernel = flags.kernel as string | undefined;
    if (args.length) throw new UsageError(`unexpected argument ${quoteValue(args[0])}; see --help`);
    if (file === undefined) throw new UsageError('--module FILE is required');
    if (kernel === undefined) throw new UsageError('--kernel VERSION is required');
    const doc = pickModule(await readInput(file), file, flags.name as string | undefined);
    const decoded = decodeModule(doc);
    if (!decoded.ok) throw new UsageError(`--module ${file}: ${decoded.error.message}`);
    const mapper = compileKernelMapper(decoded.value);
    if (!mapper.ok) throw new UsageError(`--module ${file}: ${mapper.error.message}`);
    const r = mapper.value.resolve(kernel);
    if (!r.ok) {
      if (r.error.kind === 'InvalidKernelVersion') {
        throw new UsageError(`--kernel: ${r.error.detail}`);
      }
      if (r.error.kind === 'NoMatch') {
        stderr.write(`${path}: ${r.error.message}\n`);
        return EXIT_NO_MATCH;
      }
      throw new UsageError(`--module ${file}: ${r.error.message}`);
    }
    const m = r.value;
    for (const w of m.warnings) stderr.write(`${path}: warning: ${w}\n`);
    const out = {
      containerImage: m.containerImage,
      build: m.build ?? null,
      sign: m.sign ?? null,
      registryTLS: m.registryTLS,
      inTreeModulesToRemove: m.inTreeModulesToRemove ?? [],
    };
    stdout.write(JSON.stringify(out, null, 2) + '\n');
    return 0;
  },
};
