// Unit tests of the TypeScript that has logic in it (protocol decoding, state merging):
// plain functions, run in node; the browser tests in tests/browser cover the widgets.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node'
  }
});
