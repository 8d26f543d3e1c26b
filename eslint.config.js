// ESLint (flat config): type-aware typescript-eslint plus the rules that encode this project's own habits.
import { readdirSync } from 'node:fs';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

// Services talk to each other through their public index.ts only; shared code lives in services/core.
const services = readdirSync('services', { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);
const boundaries = services.flatMap((target) =>
  services
    .filter((from) => from !== target && from !== 'core')
    .map((from) => ({
      target: `./services/${target}`,
      from: `./services/${from}`,
      except: ['./index.ts'],
      message: `services/${target} may use services/${from} only through its index.ts (or move the shared code to services/core)`,
    })),
);

// Lines stay within 120 columns. A user-visible message or test title may run past that so it can be found
// with grep (prettier never splits strings), but no line of any kind runs past 160.
const HARD_LINE_LIMIT = 160;
// A line holding one regular expression (an expected kube message in a test) is exempt, as max-len exempts them.
const REGEX_LINE = /^\s*\/.*\/[dgimsuvy]*,?$/;
const kitfed = {
  rules: {
    'hard-line-limit': {
      meta: {
        type: 'layout',
        schema: [],
        messages: { long: `Line is {{length}} characters; the hard limit is ${HARD_LINE_LIMIT}.` },
      },
      create(context) {
        return {
          Program() {
            context.sourceCode.lines.forEach((line, i) => {
              if (line.length > HARD_LINE_LIMIT && !/https?:\/\//.test(line) && !REGEX_LINE.test(line))
                context.report({
                  loc: { line: i + 1, column: HARD_LINE_LIMIT },
                  messageId: 'long',
                  data: { length: line.length },
                });
            });
          },
        };
      },
    },
  },
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/results/**', 'test/**/fixtures/**', '**/*.js', '**/*.mjs'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.base],
    plugins: { 'import-x': importX, kitfed },
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      'max-len': [
        'error',
        { code: 120, ignoreUrls: true, ignoreRegExpLiterals: true, ignoreStrings: true, ignoreTemplateLiterals: true },
      ],
      'kitfed/hard-line-limit': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': [
        'error',
        { checksVoidReturn: { arguments: false, attributes: false } },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unnecessary-type-assertion': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-syntax': [
        'error',
        {
          selector:
            "LogicalExpression[operator='&&'][left.type='BinaryExpression'][left.operator='instanceof'][left.right.name='KitfedError'][right.type='BinaryExpression'][right.left.property.name='code']",
          message: 'Use hasCode(err, 404) from services/core/errors.ts instead of instanceof KitfedError && .code.',
        },
        {
          // The same check over several codes: `err instanceof KitfedError && (err.code === 404 || err.code === 409)`.
          selector:
            "LogicalExpression[operator='&&'][left.type='BinaryExpression'][left.operator='instanceof'][left.right.name='KitfedError'][right.type='LogicalExpression'][right.operator='||']:has(BinaryExpression[left.property.name='code'])",
          message:
            'Use hasCode(err, 404, 409) from services/core/errors.ts instead of instanceof KitfedError && .code.',
        },
      ],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': ['error', { zones: boundaries }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      'no-var': 'error',
    },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver()],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/extensions': ['.ts'],
    },
  },
  {
    // Tests walk kubectl's JSON output freely; `any` stays out of services (their APIs are typed).
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
