// ESLint: typed rules for the TypeScript in lib/, the recommended ones for the JavaScript of
// tests, benchmarks and examples. Formatting is Prettier's (npm run format).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'build*/', 'node_modules/', 'bench/results/', 'coverage/'] },
  js.configs.recommended,
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: { ...globals.node, ...globals.jest } },
    rules: {
      'no-unused-vars': ['error', { argsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // lib/adonis/*.mts: the AdonisJS integration (ES modules; lib/adonis/tsconfig.json).
    files: ['lib/**/*.ts', 'lib/**/*.mts'],
    ignores: ['lib/public-types-check.ts'],
    extends: [...tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // Callers are rejected with exactly what the work threw, or the signal's reason.
      '@typescript-eslint/prefer-promise-reject-errors': 'off',
    },
  },
  {
    files: ['index.d.ts', 'lib/public-types-check.ts', 'test/types/**/*.ts'],
    extends: [...tseslint.configs.recommended],
  },
  {
    // Type tests declare values only to check their types.
    files: ['test/types/**/*.ts'],
    rules: { '@typescript-eslint/no-unused-vars': 'off' },
  },
  prettier,
);
