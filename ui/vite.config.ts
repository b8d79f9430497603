// Builds the UI into ui/dist, which `stackhouse server` serves at /.
// Relative asset paths, no CDN: the page works offline.
import { defineConfig } from 'vite';

export default defineConfig({
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 400,
  },
  test: {
    include: ['src/**/*.test.ts'],
  },
});
