// The console's build: one bundle of React, TanStack Query, uPlot and the typed REST client, with
// content-hashed names under assets/ (the edge caches them for a year and sends index.html no-cache).
import react from '@vitejs/plugin-react';
import { defaultClientConditions, defineConfig } from 'vite';

export default defineConfig({
  plugins: [react()],
  // workspace packages expose their TypeScript sources under "source" (as in Jest and tsc)
  resolve: { conditions: ['source', ...defaultClientConditions] },
  build: { outDir: 'dist', assetsDir: 'assets', sourcemap: true, modulePreload: { polyfill: false }, chunkSizeWarningLimit: 800 },
  // `pnpm --filter @haier-sync/console dev`: the API of an edge on :8080 behind Vite's dev server
  server: { proxy: { '/api': 'http://127.0.0.1:8080' } },
});
