// Summaries and formatting: median, min, max, n; ratios of medians.

/** { n, median, min, max } of numeric samples, or null when there are none. */
export function summarize(samples) {
  const v = samples.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return { n: v.length, median, min: v[0], max: v.at(-1) };
}

/** a.median / b.median, or null when either is missing. */
export function ratio(a, b) {
  return a && b && b.median > 0 ? a.median / b.median : null;
}

/** A value in the case's unit, with a sensible precision. */
export function fmt(value, unit) {
  if (value == null || !Number.isFinite(value)) return '–';
  if (unit === 'ms') {
    if (value >= 10_000) return `${(value / 1000).toFixed(1)} s`;
    if (value >= 1000) return `${(value / 1000).toFixed(2)} s`;
    return value >= 100 ? `${value.toFixed(0)} ms` : `${value.toFixed(1)} ms`;
  }
  if (unit === 'MB') return value >= 100 ? `${value.toFixed(0)} MB` : `${value.toFixed(1)} MB`;
  return `${value}`;
}

export const fmtRatio = (r) => (r == null ? '–' : `${r.toFixed(2)}×`);

export const MB = 1024 * 1024;

/** How a row without a figure is labelled. */
export const STATUS = { unavailable: 'unavailable', failed: 'failed', 'too-few': 'too few runs', 'not-implemented': 'not implemented yet', 'n/a': 'n/a' };
