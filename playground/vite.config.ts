/**
 * Builds the two pages served at /playground/ into dist/ (or `--outDir <dir>`, or $PLAYGROUND_OUT_DIR).
 *
 * The output is reproducible: Vite's default `assets/[name]-[hash].*` names, no timestamps, no source maps,
 * relative URLs (`base: './'`) so the bundle works under any prefix, Monaco's workers emitted as assets.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

/** Puts the shared header (nav + settings form) where a page says `<!--openclaw:header-->`. */
function sharedHeader(): Plugin {
  const file = fileURLToPath(new URL('./src/shared/header.html', import.meta.url));
  return {
    name: 'openclaw-shared-header',
    transformIndexHtml: {
      order: 'pre',
      handler(html, context) {
        const page = context.path.endsWith('/console.html') ? 'console' : 'index';
        const header = readFileSync(file, 'utf8')
          .trim()
          .replace(`data-page="${page}"`, `data-page="${page}" aria-current="page"`)
          .replace(/\n/g, '\n    ');
        return html.replace('<!--openclaw:header-->', header);
      },
    },
    configureServer(server) {
      server.watcher.add(file);
    },
  };
}

/** `npm run dev` / `npm run preview` forward the API to a running server, so the pages stay same-origin. */
const proxy = {
  '/v2': { target: process.env.OPENCLAW_URL || 'http://127.0.0.1:8080', changeOrigin: true, ws: true },
};

export default defineConfig({
  root,
  server: { proxy },
  preview: { proxy },
  base: './',
  plugins: [sharedHeader()],
  build: {
    outDir: process.env.PLAYGROUND_OUT_DIR || 'dist',
    emptyOutDir: true,
    sourcemap: false,
    target: 'es2022',
    // Monaco alone is several hundred kB; the size is reported in the README instead of warned about.
    chunkSizeWarningLimit: 4096,
    // Third-party licences of everything bundled, shipped beside the bundle.
    license: { fileName: 'licenses.md' },
    rolldownOptions: {
      onwarn(warning, warn) {
        // React libraries mark modules "use client"/"use no memo"; meaningless in a client-only bundle.
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
      input: {
        index: fileURLToPath(new URL('./index.html', import.meta.url)),
        console: fileURLToPath(new URL('./console.html', import.meta.url)),
      },
    },
  },
  worker: {
    // Module workers, so Monaco's workers can share chunks and need no IIFE wrapping.
    format: 'es',
  },
});
