// Public API of the flame graph core.

export {
  fromFlamebearer,
  fromFolded,
  childIndex,
  rootTotal,
  TreeBuilder,
  type FlameModel,
  type FlameFormat,
  type Flamebearer,
} from './model';
export {
  formatValue,
  formatPercent,
  formatPointsChange,
  formatDuration,
  formatBytes,
  formatCount,
  toSeconds,
  unitKind,
  type UnitKind,
} from './format';
export {
  packageKey,
  packageColor,
  diffChange,
  diffBucket,
  diffColor,
  themeColors,
  type ColorMode,
  type Theme,
} from './color';
export {
  layoutFlame,
  hitTest,
  searchModel,
  viewWindow,
  RectList,
  KIND_BAR,
  KIND_ANCESTOR,
  KIND_SLIVER,
  type LayoutOptions,
  type SearchResult,
} from './layout';
export { FlameGraph, copyText, type FlameGraphOptions } from './render';
export { sandwich, outermostOccurrences } from './sandwich';
export { topTable, biggestChanges, type TopRow, type ChangeRow } from './top';
export { toFolded, toSpeedscope, type SpeedscopeFile } from './export';
