/**
 * Per-epoch charts of the demo's runs, as SVG (written by hand, no
 * dependency) and PNG (the SVG rendered with @resvg/resvg-js).
 */
const COLORS = ['#4c72b0', '#dd8452', '#55a868', '#c44e52', '#8172b3', '#937860'];

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** "Nice" tick values covering [lo, hi]. */
function ticks(lo, hi, count = 5) {
  if (hi - lo < 1e-9) { lo -= 0.5; hi += 0.5; }
  const raw = (hi - lo) / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
  const start = Math.floor(lo / step) * step;
  const out = [];
  for (let v = start; v <= hi + step * 1e-6; v += step) out.push(Number(v.toFixed(10)));
  if (out[out.length - 1] < hi) out.push(Number((out[out.length - 1] + step).toFixed(10)));
  return out;
}

/**
 * One panel: lines of {label, color, dash, points: [[x, y]]}. The x axis runs over epochs 1…xMax, or, with
 * xTicks (and xLabel), from the first tick to the last (e.g. seconds of training).
 */
function panel({x0, y0, w, h, title, yLabel, series, xMax, yFormat, xTicks, xLabel = 'epoch'}) {
  const ys = series.flatMap((s) => s.points.map((p) => p[1])).filter(Number.isFinite);
  const yt = ticks(Math.min(...ys), Math.max(...ys));
  const yLo = yt[0];
  const yHi = yt[yt.length - 1];
  const xt = xTicks ?? Array.from({length: xMax}, (_, i) => i + 1);
  const xLo = xt[0];
  const xHi = xt[xt.length - 1];
  const px = (x) => x0 + ((x - xLo) / Math.max(xHi - xLo, 1e-9)) * w;
  const py = (y) => y0 + h - ((y - yLo) / (yHi - yLo)) * h;
  const out = [`<text x="${x0 + w / 2}" y="${y0 - 14}" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`];
  for (const t of yt) {
    out.push(`<line x1="${x0}" x2="${x0 + w}" y1="${py(t)}" y2="${py(t)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${x0 - 6}" y="${py(t) + 4}" text-anchor="end" font-size="11">${esc(yFormat(t))}</text>`);
  }
  for (const e of xt) {
    out.push(`<line x1="${px(e)}" x2="${px(e)}" y1="${y0 + h}" y2="${y0 + h + 4}" stroke="#333"/>`);
    out.push(`<text x="${px(e)}" y="${y0 + h + 17}" text-anchor="middle" font-size="11">${e}</text>`);
  }
  out.push(`<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${x0 + w / 2}" y="${y0 + h + 34}" text-anchor="middle" font-size="12">${esc(xLabel)}</text>`);
  out.push(`<text transform="translate(${x0 - 46},${y0 + h / 2}) rotate(-90)" text-anchor="middle" font-size="12">${esc(yLabel)}</text>`);
  for (const s of series) {
    const pts = s.points.filter((p) => Number.isFinite(p[1]));
    if (pts.length === 0) continue;
    const d = pts.map((p, i) => `${i ? 'L' : 'M'}${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2.2"${s.dash ? ' stroke-dasharray="6 4"' : ''}/>`);
    for (const p of pts) out.push(`<circle cx="${px(p[0]).toFixed(1)}" cy="${py(p[1]).toFixed(1)}" r="3" fill="${s.color}"/>`);
  }
  return out.join('\n');
}

/**
 * runs: [{label, epochs: [{epoch, testAccuracy, trainLoss, testLoss, seconds}]}].
 * Returns the SVG text.
 */
function renderSvg(runs, {title}) {
  const W = 1440;
  const H = 430;
  const xMax = Math.max(...runs.map((r) => r.epochs.length), 1);
  const colored = runs.map((r, i) => ({...r, color: COLORS[i % COLORS.length]}));
  const acc = colored.map((r) => ({color: r.color, points: r.epochs.map((e) => [e.epoch, 100 * e.testAccuracy])}));
  const loss = colored.flatMap((r) => [
    {color: r.color, points: r.epochs.map((e) => [e.epoch, e.trainLoss])},
    {color: r.color, dash: true, points: r.epochs.map((e) => [e.epoch, e.testLoss])},
  ]);
  const secs = colored.map((r) => ({color: r.color, points: r.epochs.map((e) => [e.epoch, e.seconds])}));
  const legend = colored.map((r, i) =>
    `<g transform="translate(${80 + i * 340},${H - 22})"><line x1="0" x2="26" y1="0" y2="0" stroke="${r.color}" stroke-width="3"/>` +
    `<text x="32" y="4" font-size="12">${esc(r.label)}</text></g>`).join('\n');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Arial, sans-serif">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="16">${esc(title)}</text>`,
    panel({x0: 80, y0: 70, w: 360, h: 260, title: 'test accuracy', yLabel: 'accuracy (%)', series: acc, xMax,
      yFormat: (v) => v.toFixed(1)}),
    panel({x0: 560, y0: 70, w: 360, h: 260, title: 'loss (solid: train, dashed: test)', yLabel: 'cross-entropy',
      series: loss, xMax, yFormat: (v) => v.toFixed(2)}),
    panel({x0: 1040, y0: 70, w: 360, h: 260, title: 'seconds per epoch (indicative)', yLabel: 'seconds',
      series: secs, xMax, yFormat: (v) => v.toFixed(1)}),
    legend,
    '</svg>',
  ].join('\n');
}

/** Renders an SVG to PNG bytes. */
function svgToPng(svg) {
  const {Resvg} = require('@resvg/resvg-js');
  return new Resvg(svg, {font: {loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans'}}).render().asPng();
}

module.exports = {renderSvg, svgToPng, ticks, panel, esc, COLORS};
