/**
 * The layers of src/ (drawn in src/README.md), checked by `npm run lint`. A rule here has no
 * exceptions: code that needs one belongs in another layer.
 *
 *   cli            the composition root: may import everything
 *   cluster        the local control plane for trying hwe out and for tests
 *   products       nfd/*, kmm/*, dtk, signing, mustgather, dashboard: may import the layers below
 *   api            custom resource types and CRDs
 *   foundations    runtime, command, pki, oci, version: import no product
 */
const FOUNDATIONS = '^src/(runtime|command|pki|oci)/|^src/version[.]ts$';
const PRODUCTS = '^src/(nfd|kmm|dtk|signing|mustgather|dashboard)/';
const TEST_FILE = '[.]test[.]ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'no-cycle',
      severity: 'error',
      comment: 'Modules import in one direction; a shared piece gets its own module instead.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'cli-is-the-root',
      severity: 'error',
      comment:
        'src/cli only composes; no module of src/ imports it (the command framework is src/command).',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'product-without-cluster',
      severity: 'error',
      comment: 'The local cluster is a harness around the product, never part of it.',
      from: { path: `${PRODUCTS}|^src/(api|runtime|command|pki|oci)/` },
      to: { path: '^src/cluster/' },
    },
    {
      name: 'foundations-import-no-product',
      severity: 'error',
      comment: 'runtime, command, pki and oci serve every product and know none of them.',
      from: { path: FOUNDATIONS },
      to: { path: '^src/', pathNot: FOUNDATIONS },
    },
    {
      name: 'api-imports-runtime-only',
      severity: 'error',
      comment: 'Resource types and CRDs depend on the runtime object types and nothing else.',
      from: { path: '^src/api/' },
      to: { path: '^src/', pathNot: `^src/api/|${FOUNDATIONS}` },
    },
    {
      name: 'rules-engine-is-pure',
      severity: 'error',
      comment:
        'The NFD rule engine knows nothing of sources or of Kubernetes: features in, matches out.',
      from: { path: '^src/nfd/rules/' },
      to: { path: '^src/', pathNot: '^src/(nfd/rules|api)/' },
    },
    {
      name: 'nfd-and-kmm-apart',
      severity: 'error',
      comment: 'NFD and KMM share only the layers below them.',
      from: { path: '^src/nfd/' },
      to: { path: '^src/kmm/' },
    },
    {
      name: 'kmm-and-nfd-apart',
      severity: 'error',
      from: { path: '^src/kmm/' },
      to: { path: '^src/nfd/' },
    },
    {
      name: 'dashboard-is-a-view',
      comment:
        'The dashboard reads NFD and KMM (their pure helpers) and is read by nobody but the root.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(cli|dashboard)/' },
      to: { path: '^src/dashboard/' },
    },
    {
      name: 'kmm-common-is-shared',
      severity: 'error',
      comment: 'kmm/common is what the KMM controllers share; it imports none of them.',
      from: { path: '^src/kmm/common/' },
      to: { path: '^src/kmm/', pathNot: '^src/kmm/common/' },
    },
    {
      name: 'tests-stay-out-of-the-product',
      severity: 'error',
      comment: 'Test support and fixtures are for test files only.',
      from: { path: '^src/', pathNot: TEST_FILE },
      to: { path: `^test/|${TEST_FILE}` },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/|^test/fixtures/hosts/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};
