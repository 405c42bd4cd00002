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
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
);
