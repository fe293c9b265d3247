import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/**
 * The console and the wallboard: two pages, built to dist/web (served by src/web/web-plugin.ts).
 * Preact's automatic JSX runtime comes from esbuild/oxc settings (no React). Hashed file names
 * let the server cache /assets/* as immutable. The Telnyx WebRTC SDK is its own chunk, loaded
 * only when an agent turns the softphone on, so neither page pays for it at first load.
 */
export default defineConfig({
  root: here('.'),
  base: '/',
  publicDir: false,
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: here('../dist/web'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    manifest: true,
    modulePreload: { polyfill: false },
    rollupOptions: {
      input: { console: here('console.html'), wallboard: here('wallboard.html') },
      output: {
        entryFileNames: 'assets/[name]-[hash].js',
        chunkFileNames: 'assets/[name]-[hash].js',
        assetFileNames: 'assets/[name]-[hash][extname]',
      },
    },
  },
});
