import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.build/', '.vigil/', 'test-results/', 'dashboards/generated/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly' } },
  },
  {
    // Scripts served to browsers (the embeddable banner, pages' optional enhancements).
    files: ['*/assets/**/*.js'],
    languageOptions: {
      globals: Object.fromEntries(
        ['document', 'location', 'localStorage', 'fetch', 'AbortController', 'CSSStyleSheet', 'URL', 'setTimeout', 'clearTimeout', 'requestAnimationFrame', 'Intl'].map((name) => [name, 'readonly']),
      ),
    },
  },
  {
    // Vigil's own server-side code. The first use of one of these globals loads Node's own copy of undici (745 KB of
    // source) beside the undici the probes use; the same names are imported from 'undici'.
    files: ['{app,core,alerts,probes,processing,status-page,console,dashboards}/**/*.ts'],
    rules: {
      'no-restricted-globals': ['error', ...['fetch', 'Headers', 'Request', 'Response', 'FormData', 'WebSocket', 'EventSource'].map((name) => ({ name, message: `import { ${name} } from 'undici': the global loads Node's own second copy of it` }))],
    },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
);
