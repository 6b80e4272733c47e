// The JupyterLab extension template's lint rules (typescript-eslint + prettier), in eslint 9's
// flat config so that @jupyter/eslint-plugin (which needs eslint 9) checks the plugin wiring too.
import js from '@eslint/js';
import jupyter from '@jupyter/eslint-plugin';
import prettierRecommended from 'eslint-plugin-prettier/recommended';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['lib/', 'node_modules/', '../jupyter_sharedterm/', '*.config.*'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...jupyter.configs.recommended,
  prettierRecommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/naming-convention': [
        'error',
        {
          selector: 'interface',
          format: ['PascalCase'],
          custom: { regex: '^I[A-Z]', match: true }
        }
      ],
      '@typescript-eslint/no-unused-vars': [
        'warn',
        { args: 'none', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }
      ],
      '@typescript-eslint/no-explicit-any': 'off',
      // A token's interface names its one supertype, as JupyterLab's ITerminalTracker does.
      '@typescript-eslint/no-empty-object-type': [
        'error',
        { allowInterfaces: 'with-single-extends' }
      ],
      // Everything the plugins import is needed at activation (the Share button on every
      // terminal, the panel): loading it later would only move the wait.
      'jupyter/prefer-lazy-imports': 'off',
      '@typescript-eslint/no-namespace': 'off',
      '@typescript-eslint/no-use-before-define': 'off',
      curly: ['error', 'all'],
      eqeqeq: 'error',
      'prefer-arrow-callback': 'error'
    }
  },
  {
    // The guest page has no JupyterLab translator to translate with; tests are not shown.
    files: ['src/guest/**', 'test/**'],
    rules: { 'jupyter/no-untranslated-string': 'off' }
  },
  {
    files: ['scripts/**/*.mjs'],
    languageOptions: { globals: { process: 'readonly' } }
  }
);
