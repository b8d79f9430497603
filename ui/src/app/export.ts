// The export menu: pprof (from the server), folded, speedscope, flamebearer
// JSON and PNG (from what is on screen).
import * as api from '../api';
import { toFolded, toSpeedscope, type FlameGraph, type FlameModel } from '../flame';
import { download, el } from './dom';
import { fullQuery, type ViewState } from './state';
import { rangeOf } from './time';

export interface ExportSource {
  model: FlameModel | null;
  response: api.RenderResponse | null;
  state: ViewState;
  flame: FlameGraph;
}

function baseName(s: ViewState): string {
  const m = /service_name="([^"]+)"/.exec(s.query);
  const svc = m ? m[1] : 'profile';
  const type = s.type.split(':').slice(0, 2).join('-');
  return `${svc}-${type}`.replace(/[^A-Za-z0-9._-]+/g, '_');
}

export function exportMenu(parent: HTMLElement, source: () => ExportSource): HTMLElement {
  const select = el('select', { 'aria-label': 'Export', 'data-testid': 'export' });
  select.append(
    el('option', { value: '' }, 'Export…'),
    el('option', { value: 'pprof' }, 'pprof (.pb.gz)'),
    el('option', { value: 'folded' }, 'Folded stacks (.txt)'),
    el('option', { value: 'speedscope' }, 'speedscope (.json)'),
    el('option', { value: 'flamebearer' }, 'Flamebearer (.json)'),
    el('option', { value: 'png' }, 'Image (.png)'),
  );
  select.addEventListener('change', async () => {
    const kind = select.value;
    select.value = '';
    const src = source();
    if (!src.model || !src.response) return;
    const name = baseName(src.state);
    const meta = src.response.metadata;
    switch (kind) {
      case 'pprof': {
        const r = rangeOf(src.state.from, src.state.until, Date.now() / 1000);
        if (!r) return;
        const bytes = await api.mergedPprof(src.state.type, fullQuery('', src.state.query), r);
        download(new Blob([(await gzip(bytes)) as BlobPart], { type: 'application/octet-stream' }), `${name}.pb.gz`);
        break;
      }
      case 'folded':
        download(new Blob([toFolded(src.model)], { type: 'text/plain' }), `${name}.folded.txt`);
        break;
      case 'speedscope':
        download(
          new Blob([JSON.stringify(toSpeedscope(src.model, fullQuery(src.state.type, src.state.query), meta.units, meta.sampleRate))], {
            type: 'application/json',
          }),
          `${name}.speedscope.json`,
        );
        break;
      case 'flamebearer':
        {
          // Levels may be typed arrays (binary responses): write plain arrays.
          const fb = src.response.flamebearer;
          const plain = { ...src.response, flamebearer: { ...fb, levels: fb.levels.map((l) => Array.from(l)) } };
          download(new Blob([JSON.stringify(plain)], { type: 'application/json' }), `${name}.flamebearer.json`);
        }
        break;
      case 'png':
        download(await src.flame.toPNG(), `${name}.png`);
        break;
    }
  });
  parent.append(select);
  return select;
}

/** gzip with the browser's CompressionStream (pprof files are gzipped). */
async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
