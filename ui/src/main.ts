// Entry point of the web UI.
performance.mark('main-start');
import './styles.css';
import { App } from './app/app';
import { createCompareView, createDiffView } from './app/compare';
import { createLabelsView } from './app/labels';
import { createSingleView } from './app/single';

const root = document.getElementById('app')!;
const app = new App(root, {
  single: createSingleView,
  compare: createCompareView,
  diff: createDiffView,
  labels: createLabelsView,
});
performance.mark('app-built');
void app.start();
