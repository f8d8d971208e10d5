import { awscdk, javascript } from 'projen';

/**
 * Source of truth for package.json, tsconfig*, tasks and CI files.
 * Edit this file, then run `npx projen`. Never hand-edit the generated files.
 */
const project = new awscdk.AwsCdkConstructLibrary({
  name: 'cdk-production-patterns',
  description:
    'Production-grade AWS CDK L3 patterns: Step Functions agent workflows with human approval, ' +
    'EventBridge Pipes fan-out, Lambda Managed Instances, IP-range-synced security groups, and guardrails.',
  author: 'cdk-production-patterns maintainers',
  authorAddress: 'maintainers@cdk-production-patterns.dev',
  repositoryUrl: 'https://github.com/cdk-production-patterns/cdk-production-patterns.git',
  license: 'Apache-2.0',
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,
  projenVersion: '0.103.25',
  stability: 'experimental',

  // Versions that work together here (see shared TOOLCHAIN.md).
  cdkVersion: '2.276.0',
  constructsVersion: '10.5.1',
  jsiiVersion: '~6.0.16',
  typescriptVersion: '~6.0.3',
  minNodeVersion: '20.0.0',
  // GitHub workflows run on Node 22 (aws-local-stepfunctions and the newest SDK clients want it).
  workflowNodeVersion: '22.x',

  keywords: [
    'awscdk',
    'cdk',
    'constructs',
    'aws',
    'patterns',
    'l3',
    'step-functions',
    'bedrock',
    'human-in-the-loop',
    'eventbridge-pipes',
    'lambda-managed-instances',
    'security-group',
    'ip-ranges',
    'guardrails',
  ],

  // jsii targets (published by the generated release workflow).
  publishToPypi: {
    distName: 'cdk-production-patterns',
    module: 'cdk_production_patterns',
  },
  publishToMaven: {
    javaPackage: 'io.github.cdkproductionpatterns',
    mavenGroupId: 'io.github.cdkproductionpatterns',
    mavenArtifactId: 'cdk-production-patterns',
  },
  publishToNuget: {
    dotNetNamespace: 'CdkProductionPatterns',
    packageId: 'CdkProductionPatterns',
  },
  publishToGo: {
    moduleName: 'github.com/cdk-production-patterns/cdk-production-patterns-go',
  },

  // The development tsconfig sits at the top level, where users expect it.
  tsconfigDevFile: 'tsconfig.dev.json',
  eslintOptions: {
    dirs: ['src'],
    devdirs: ['test', 'examples', 'scripts'],
    projectService: false,
    tsconfigPath: './tsconfig.dev.json',
  },

  // Handlers: src/**/runtime/*.lambda.ts, bundled with esbuild at build time.
  lambdaAutoDiscover: true,
  lambdaOptions: {
    runtime: awscdk.LambdaRuntime.NODEJS_24_X,
    bundlingOptions: {
      externals: ['@aws-sdk/*'],
      sourcemap: false,
    },
  },

  devDeps: [
    'aws-cdk@2.1148.1',
    'cdk-nag@3.0.2',
    'aws-local-stepfunctions@3.0.0',
    'asl-validator@4.0.0',
    // AWS Control Tower proactive controls as cfn-guard rules, with the cfn-guard 3.1 binary (test/harness/control-tower.ts)
    '@cdklabs/cdk-validator-cfnguard@0.0.62',
    'esbuild@^0.28',
    'typedoc@^0.28',
    'aws-sdk-client-mock@^4.1.0',
    'aws-sdk-client-mock-jest@^4.1.0',
    '@types/aws-lambda',
    '@aws-lambda-powertools/logger@^2',
    '@aws-lambda-powertools/metrics@^2',
    '@aws-lambda-powertools/tracer@^2',
    '@aws-sdk/client-s3',
    '@aws-sdk/client-ec2',
    '@aws-sdk/client-cloudformation',
    '@aws-sdk/client-wafv2',
    '@aws-sdk/client-dynamodb',
    '@aws-sdk/lib-dynamodb',
    '@aws-sdk/client-sfn',
    '@aws-sdk/client-bedrock-runtime',
    '@aws-sdk/client-secrets-manager',
    '@aws-sdk/client-sns',
    '@aws-sdk/client-eventbridge',
    '@aws-sdk/client-pipes',
    '@aws-sdk/client-lambda',
    // cidr-tools 12+/13 need Node 22 and ip-bigint versions the registry lacks; 11.3 runs on Node 18+.
    'cidr-tools@11.3.2',
    // Wire-level test layer (test/harness/aws): DynamoDB and S3 that speak the real protocols, in memory.
    'dynalite@^4.0.0',
    's3rver@^3.7.1',
    // A self-signed certificate for the wire server's HTTPS listener (CloudFormation response URLs, web documents).
    'selfsigned@^5.5.0',
  ],

  jestOptions: {
    jestConfig: {
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      setupFiles: ['<rootDir>/test/setup/polyfills.ts'],
      // Per-suite timeouts: most tests take milliseconds and a construct synth a few seconds, so a
      // hang fails fast; suites that start local services or deploy examples offline raise their own
      // limit with jest.setTimeout (test/wire/**, test/examples.test.ts).
      testTimeout: 30_000,
      collectCoverage: false,
      // cidr-tools and ip-bigint are ESM-only: let ts-jest turn them into CommonJS for jest.
      transformIgnorePatterns: ['/node_modules/(?!(cidr-tools|ip-bigint)/)'],
    },
  },

  gitignore: ['cdk.out/', 'docs/api/', '*.d.ts.map', '.examples-report.json', '.jsii.tabl.json'],
  npmignoreEnabled: true,
  sampleCode: false,
  githubOptions: { mergify: false },
});

// --- Pitfalls already solved (TOOLCHAIN.md) ---------------------------------------------------
// registry serves unrs-resolver 1.13 bindings for linux only; npm ci fails without this pin.
project.package.addPackageResolutions('unrs-resolver@1.12.2');
// projen passes --silence-warnings=reserved-word to jsii; those warnings name exactly what reads badly
// in Python, Java, C# or Go (a method called `lambda`, `boolean`...): keep them visible.
project.compileTask.reset('jsii');
project.tasks.tryFind('watch')?.reset('jsii -w');
// jsii prints a large end-of-life banner on Node 20.
project.tasks.addEnvironment('JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION', '20');

// ESM-only dependencies (see transformIgnorePatterns) are transpiled by ts-jest as JavaScript.
project.jest!.config.transform['^.+\\.js$'] = ['ts-jest', { tsconfig: { allowJs: true, esModuleInterop: true }, diagnostics: false }];
// Handler code under src/**/runtime is bundled by esbuild: its dependencies are build-time only.
project.eslint?.addOverride({
  files: ['src/**/runtime/**/*.ts'],
  rules: { 'import/no-extraneous-dependencies': 'off' },
});
// Vendored real data must stay byte-exact (md5 checks).
project.gitattributes.addAttributes('/test/fixtures/**', '-text', 'linguist-vendored');
project.tsconfigDev.addInclude('.projenrc.ts');
project.tsconfigDev.addInclude('projenrc/**/*.ts');
project.tsconfigDev.addInclude('examples/**/*.ts');
project.tsconfigDev.addInclude('scripts/**/*.ts');

project.npmignore?.exclude('/examples/', '/scripts/', '/docs/', '/.ci/', '/cdk.out/', 'tsconfig.dev.json', '/rosetta/');
// The rosetta tablet (README and TSDoc examples translated to Python, Java, C#, Go) travels in the npm
// tarball: the release workflow builds the other languages from that tarball, and jsii-pacmak takes
// the translations from the .jsii.tabl.json beside .jsii (without it, the TypeScript would be copied).
project.npmignore?.include('/.jsii.tabl.json');

// Minify handler bundles (keeping names for readable stack traces): each stays under 100 KB.
for (const task of project.tasks.all) {
  if (!task.name.startsWith('bundle:') || task.name.endsWith(':watch')) continue;
  task.steps.forEach((step, i) => {
    if (step.execArgs?.[0] !== 'esbuild') return;
    // The reasoner needs a Bedrock Runtime client that knows Converse `outputConfig` (structured
    // output, 2026); the Lambda runtime's bundled SDK may be older, so that handler bundles its SDK.
    const args = task.name.includes('agent-workflow/runtime/reasoner.lambda')
      ? step.execArgs.filter((a) => a !== '--external:@aws-sdk/*')
      : step.execArgs;
    task.updateStep(i, { ...step, execArgs: [...args, '--minify', '--keep-names'] });
  });
}

// Tests need the bundled handler assets; ts-jest transpiles only, so type-check first.
const testTask = project.tasks.tryFind('test')!;
testTask.prependExec('tsc --noEmit -p tsconfig.dev.json');
testTask.prependSpawn(project.bundler.bundleTask);

// Package: the js package always; other languages need registries this machine cannot reach
// (PyPI / Maven Central / NuGet / Go proxy), so CI proves them with code-only generation instead
// (`bindings` task) and the release workflow builds the real packages.
const packageTask = project.tasks.tryFind('package')!;
packageTask.reset();
packageTask.spawn(project.tasks.tryFind('package:js')!);
// Doc snippets the rosetta tablet does not hold are translated when the bindings are written: the
// ones the constructs inherit from aws-cdk-lib (ManagedInstanceLambdaProps extends lambda.FunctionProps,
// whose logRetention doc has a TypeScript block) are not in this project's tablet.
const UNKNOWN_SNIPPETS = ['--rosetta-unknown-snippets', 'translate'];
project.addTask('bindings', {
  description: 'Generate the Python, Java, .NET and Go bindings (code only, offline) into dist/bindings',
  steps: [
    {
      exec: `jsii-pacmak --code-only --outdir dist/bindings --target python --target java --target dotnet --target go ${UNKNOWN_SNIPPETS.join(' ')}`,
    },
  ],
});
for (const language of ['java', 'python', 'dotnet', 'go']) {
  const task = project.tasks.tryFind(`package:${language}`)!;
  task.reset();
  task.exec(['jsii-pacmak', '-v', '--target', language, ...UNKNOWN_SNIPPETS].join(' '));
}

// Examples: synth every app offline, run cdk-nag, run local simulations, print a table.
project.addTask('examples', {
  description: 'Synthesize every examples/<app>/app.ts into cdk.out/<app>, run cdk-nag and each simulate.ts',
  steps: [
    { spawn: 'bundle' },
    { exec: 'ts-node --transpile-only --project tsconfig.dev.json scripts/run-examples.ts' },
  ],
});

// Every README and TSDoc example compiles against the built assembly (jsii-rosetta, strict), with
// rosetta/default.ts-fixture declaring the few names the snippets take as given.
// The translations go into .jsii.tabl.json, which the build runs before packaging (post-compile) so
// the release path (build, then package:js; other languages from the tarball) ships translated docs.
const rosettaTask = project.addTask('rosetta', {
  description: 'Compile the README and TSDoc examples with jsii-rosetta (strict) and write the translations to .jsii.tabl.json',
  steps: [{ exec: 'jsii-rosetta extract --strict' }],
});
project.postCompileTask.spawn(rosettaTask);

// Benchmarks print numbers; they are never timed tests.
project.addTask('bench', {
  description: 'IP range sync: parse/filter/merge/diff timings on the real documents, calls per version pair, bundle size',
  steps: [
    { spawn: 'bundle' },
    { exec: 'ts-node --transpile-only --project tsconfig.dev.json scripts/bench-ip-ranges.ts' },
  ],
});

// API reference in HTML (generated, git-ignored). API.md comes from jsii-docgen in the build.
project.addTask('docs', {
  description: 'Build the typedoc HTML reference into docs/api/',
  steps: [{ exec: 'typedoc --tsconfig tsconfig.dev.json --entryPoints src/index.ts --out docs/api --excludeInternal --readme none' }],
});

project.synth();
