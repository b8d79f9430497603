// Builds the UI into ui/dist, which `stackhouse server` serves at /.
// Relative asset paths, no CDN: the page works offline.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
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

/**
 * `virtual:flamecore-wasm`: src/wasm/flamecore.c compiled to WebAssembly by
 * clang (Debian's clang and lld), as a base64 string. Freestanding C, no
 * libc; `-ffp-contract=off` keeps its double arithmetic exactly the
 * JavaScript's.
 */
function flameCoreWasm(): Plugin {
  const id = 'virtual:flamecore-wasm';
  const src = fileURLToPath(new URL('./src/wasm/flamecore.c', import.meta.url));
  return {
    name: 'stackhouse-flamecore-wasm',
    resolveId: (s) => (s === id ? '\0' + id : null),
    load(s) {
      if (s !== '\0' + id) return null;
      this.addWatchFile(src);
      const out = path.join(os.tmpdir(), `stackhouse-flamecore-${process.pid}.wasm`);
      const flags = [
        '--target=wasm32', '-O2', '-nostdlib', '-ffreestanding', '-ffp-contract=off', '-Wall', '-Wextra', '-Werror',
        '-Wl,--no-entry', '-Wl,--export=__heap_base', '-Wl,--import-memory', '-Wl,--stack-first', '-Wl,-z,stack-size=65536',
      ];
      try {
        execFileSync('clang', [...flags, '-o', out, src], { stdio: ['ignore', 'inherit', 'inherit'] });
      } catch (e) {
        throw new Error(`compiling ${src} to WebAssembly failed (it needs clang and lld, which scripts/setup installs): ${(e as Error).message}`);
      }
      const bytes = fs.readFileSync(out);
      fs.unlinkSync(out);
      return `export default ${JSON.stringify(bytes.toString('base64'))};`;
    },
  };
}

export default defineConfig({
  base: './',
  plugins: [flameCoreWasm(), inlineEntry()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 400,
  },
  test: {
    include: ['src/**/*.test.ts'],
    setupFiles: ['src/wasm/test_setup.ts'],
  },
});
