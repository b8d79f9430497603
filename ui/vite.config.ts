// Builds the UI into ui/dist, which `stackhouse server` serves at /.
// Relative asset paths, no CDN: the page works offline.
import fs from 'node:fs';
import path from 'node:path';
import { defineConfig, type Plugin } from 'vite';

/**
 * Puts the entry script and its stylesheet inside index.html. A fresh page
 * then runs the app as soon as the HTML is parsed, instead of after two
 * more requests (20-40 ms on a loaded machine, the critical path of a
 * flame-graph link whose query is already in flight). Lazily imported
 * chunks (uPlot) stay files: their relative paths are rewritten to resolve
 * from the page, as an inline module's imports do.
 */
function inlineEntry(): Plugin {
  return {
    name: 'stackhouse-inline-entry',
    apply: 'build',
    enforce: 'post',
    // After writing: vite's own output steps (the preload helper's
    // placeholders among them) have all run by then.
    writeBundle(options, bundle) {
      const dir = options.dir ?? 'dist';
      const htmlPath = path.join(dir, 'index.html');
      let page = fs.readFileSync(htmlPath, 'utf8');
      const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      for (const [fileName, item] of Object.entries(bundle)) {
        const file = path.join(dir, fileName);
        if (item.type === 'chunk' && item.isEntry) {
          let code = fs.readFileSync(file, 'utf8');
          for (const lazy of item.dynamicImports) {
            const base = lazy.slice(lazy.lastIndexOf('/') + 1);
            code = code.split(`./${base}`).join(`./assets/${base}`);
          }
          // A "</script" inside the code would end the element early.
          code = code.replace(/<\/script/gi, '<\\/script');
          const tag = new RegExp(`<script type="module" crossorigin src="\\./${escape(fileName)}"></script>`);
          if (!tag.test(page)) throw new Error(`inline-entry: no script tag for ${fileName} in index.html`);
          page = page.replace(tag, () => `<script type="module">${code}</script>`);
          fs.unlinkSync(file);
        } else if (item.type === 'asset' && fileName.endsWith('.css')) {
          const tag = new RegExp(`<link rel="stylesheet" crossorigin href="\\./${escape(fileName)}">`);
          if (!tag.test(page)) continue;
          const css = fs.readFileSync(file, 'utf8').replace(/<\/style/gi, '<\\/style');
          page = page.replace(tag, () => `<style>${css}</style>`);
          fs.unlinkSync(file);
        }
      }
      fs.writeFileSync(htmlPath, page);
    },
  };
}

export default defineConfig({
  base: './',
  plugins: [inlineEntry()],
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
