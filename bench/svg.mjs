// Hand-written SVG charts: one horizontal bar per row (the median), a
// min–max whisker over it, the value at the end; rows without a figure say
// why in grey. Groups (e.g. "1 container", "10 containers") stack vertically.
import { STATUS, fmt, ratio } from './stats.mjs';

const COLORS = { ours: '#e8590c', 'ours-ctr': '#ffa94d', 'ours-help': '#f59f00', 'ours-grouped': '#e8590c', containerd: '#1971c2', podman: '#7048e8', runc: '#868e96', node: '#2b8a3e', 'node-ca': '#69db7c' };
const W = 900, LABEL_W = 300, BAR_W = 380, ROW_H = 24, GROUP_H = 26, TOP = 58, BOTTOM = 34;

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
const plain = (s) => String(s).replace(/`/g, '');

/** A round axis maximum and step covering max (1, 2, 2.5 or 5 times a power of ten). */
function niceScale(max) {
  if (!(max > 0)) return { top: 1, step: 0.25 };
  const raw = max / 5, p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * p).find((s) => s >= raw);
  return { top: Math.ceil(max / step) * step, step };
}

/** The chart of one case record as an SVG document. */
export function chart(c) {
  const groups = c.groups.filter((g) => g.rows.length);
  const max = Math.max(0, ...groups.flatMap((g) => g.rows.map((r) => r.summary?.max ?? 0)));
  const { top, step } = niceScale(max);
  const x = (v) => LABEL_W + (v / top) * BAR_W;
  const height = TOP + groups.reduce((h, g) => h + (g.name ? GROUP_H : 4) + g.rows.length * ROW_H, 0) + BOTTOM;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="12" y="22" font-size="15" font-weight="bold" fill="#212529">${esc(plain(c.title))}</text>`);
  const ours = groups.map((g) => g.rows.find((r) => r.key === 'ours')?.summary);
  const hasFigures = max > 0;
  out.push(`<text x="12" y="40" fill="#868e96">${hasFigures ? `bar: median · whisker: min–max · in ${esc(c.unit)} · ratio: containerd-ts ÷ that system` : ''}</text>`);
  const plotBottom = height - BOTTOM + 4;
  for (let v = 0; hasFigures && v <= top + 1e-9; v += step) {
    out.push(`<line x1="${x(v)}" y1="${TOP - 6}" x2="${x(v)}" y2="${plotBottom}" stroke="#e9ecef"/>`);
    out.push(`<text x="${x(v)}" y="${plotBottom + 14}" text-anchor="middle" fill="#868e96">${v === 0 ? '0' : c.unit === 'ms' && top >= 2000 ? `${Number((v / 1000).toPrecision(4))} s` : `${Number(v.toPrecision(4))} ${esc(c.unit)}`}</text>`);
  }
  let y = TOP;
  for (const [gi, g] of groups.entries()) {
    if (g.name) { out.push(`<text x="12" y="${y + 17}" font-weight="bold" fill="#495057">${esc(plain(g.name))}</text>`); y += GROUP_H; } else y += 4;
    for (const r of g.rows) {
      const cy = y + ROW_H / 2, color = COLORS[r.key] ?? '#adb5bd';
      const label = plain(r.label).length > 46 ? `${plain(r.label).slice(0, 45)}…` : plain(r.label);
      out.push(`<text x="${LABEL_W - 8}" y="${cy + 4}" text-anchor="end" fill="#212529">${esc(label)}</text>`);
      const s = r.summary;
      if (s) {
        out.push(`<rect x="${LABEL_W}" y="${cy - 8}" width="${Math.max(1, x(s.median) - LABEL_W)}" height="16" fill="${color}" rx="2"/>`);
        if (s.max > s.min) {
          out.push(`<path d="M${x(s.min)} ${cy}H${x(s.max)}M${x(s.min)} ${cy - 5}V${cy + 5}M${x(s.max)} ${cy - 5}V${cy + 5}" stroke="#212529" stroke-width="1.2" fill="none"/>`);
        }
        const rat = r.key !== 'ours' && ours[gi] ? `<tspan fill="#868e96" dx="8">ratio ${ratio(ours[gi], s).toFixed(2)}×</tspan>` : '';
        out.push(`<text x="${Math.max(x(s.max), x(s.median)) + 6}" y="${cy + 4}" fill="#212529">${esc(fmt(s.median, c.unit))}${rat}</text>`);
      } else {
        const why = `${STATUS[r.status] ?? r.status}${r.message ? `: ${r.message}` : ''}`;
        out.push(`<text x="${LABEL_W + 4}" y="${cy + 4}" font-style="italic" fill="#868e96">${esc(why.length > 90 ? `${why.slice(0, 89)}…` : why)}</text>`);
      }
      y += ROW_H;
    }
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
