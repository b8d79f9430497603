// Vitest setup: every test file starts with the WebAssembly module ready,
// so that the suites exercise it (flamecore.test.ts compares it with the
// JavaScript fallbacks).
import { coreReady } from './flamecore';

await coreReady;
