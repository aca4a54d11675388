/**
 * The hexagon's dependency rule, checked in CI (`npm run lint`):
 * domain imports nothing; application imports domain and ports; ports import
 * domain; adapters import ports and domain, never each other; only bootstrap
 * (and src/cli, the command line's own composition root) wires adapters together.
 */
module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      severity: 'error',
      comment: 'The domain depends on nothing: no other layer, no package, no Node built-in.',
      from: { path: '^src/domain' },
      to: { pathNot: '^src/domain' },
    },
    {
      name: 'ports-speak-domain',
      severity: 'error',
      comment: 'Ports are interfaces in domain types only; no library type leaks through them.',
      from: { path: '^src/ports' },
      to: { pathNot: '^src/(domain|ports)' },
    },
    {
      name: 'application-uses-ports',
      severity: 'error',
      comment: 'Use cases depend on domain and ports only, never on adapters or packages.',
      from: { path: '^src/application' },
      to: { pathNot: '^src/(domain|ports|application)' },
    },
    {
      name: 'adapters-are-independent',
      severity: 'error',
      comment: 'An adapter imports ports and domain (and its own library), never another adapter; code two adapters need lives in src/adapters/shared.',
      from: { path: '^src/adapters/([^/]+)/' },
      to: { path: '^src/adapters/', pathNot: ['^src/adapters/$1/', '^src/adapters/shared/'] },
    },
    {
      name: 'shared-is-technology-free',
      severity: 'error',
      comment: 'src/adapters/shared serves every adapter, so it depends on no adapter and no package: domain, ports and Node built-ins only.',
      from: { path: '^src/adapters/shared/' },
      to: { pathNot: '^src/(domain|ports|adapters/shared)/', dependencyTypesNot: ['core'] },
    },
    {
      name: 'adapters-not-application',
      severity: 'error',
      comment: 'Driving adapters (HTTP) receive use cases typed by the domain shapes they need, so no adapter imports the application.',
      from: { path: '^src/adapters' },
      to: { path: '^src/(application|bootstrap)' },
    },
    {
      name: 'cli-is-a-root',
      severity: 'error',
      comment: 'src/cli is the command line\'s entry point, like src/bootstrap for the service: nothing imports it.',
      from: { pathNot: '^src/cli' },
      to: { path: '^src/cli' },
    },
    {
      name: 'only-bootstrap-wires',
      severity: 'error',
      comment: 'Only the composition root imports inversify.',
      from: { pathNot: '^src/bootstrap' },
      to: { path: 'node_modules/(inversify|@inversifyjs)' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
