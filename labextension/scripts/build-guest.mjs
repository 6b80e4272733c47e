// Builds the guest page's script and styles (src/guest/) into the Python package, with the
// licenses of every npm package bundled into them. `--dev` keeps it readable, with a source map.
import { build } from 'esbuild';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const outdir = join(root, '..', 'jupyter_sharedterm', 'guest', 'static');
const dev = process.argv.includes('--dev');
const NOTICES = 'THIRD-PARTY-LICENSES.txt';

// The directory is all build output: start clean, so no map of a dev build outlives it.
rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: [
    { in: 'src/guest/index.ts', out: 'guest' },
    { in: 'src/guest/guest.css', out: 'guest' }
  ],
  outdir,
  bundle: true,
  format: 'iife',
  target: 'es2020',
  minify: !dev,
  sourcemap: dev,
  // The guest's code takes only ServerConnection from @jupyterlab/services (the rest are types):
  // its own module, not the package index that drags in every service (~100 KB).
  alias: {
    '@jupyterlab/services': '@jupyterlab/services/lib/serverconnection'
  },
  // ServerConnection requires `ws` only outside a browser.
  external: ['ws'],
  banner: {
    js: `/*! jupyter_sharedterm guest page; bundled packages: ${NOTICES} */`
  },
  metafile: true,
  logLevel: 'warning'
});

// One notice per bundled package, read from the package's own LICENSE file.
const packages = new Map();
for (const input of Object.keys(result.metafile.inputs)) {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (match !== null && !packages.has(match[1])) {
    packages.set(
      match[1],
      join(root, input.slice(0, match.index + match[0].length))
    );
  }
}
const notices = [...packages.entries()]
  .sort(([a], [b]) => a.localeCompare(b))
  .map(([name, dir]) => {
    const version = JSON.parse(
      readFileSync(join(dir, 'package.json'), 'utf8')
    ).version;
    const file = ['LICENSE', 'LICENSE.md', 'LICENSE.txt', 'license'].find(f =>
      existsSync(join(dir, f))
    );
    const text = file
      ? readFileSync(join(dir, file), 'utf8').trim()
      : `License: ${JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).license}`;
    return `${name} ${version}\n${'-'.repeat(72)}\n${text}\n`;
  });
writeFileSync(join(outdir, NOTICES), notices.join('\n'));
