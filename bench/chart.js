// Draws the README's charts from the saved results: bench/results/overhead.json and
// threads.json in, bench/results/overhead.svg and threads.svg out. Plain SVG, no dependencies.
// Usage: node bench/chart.js
const fs = require('node:fs');
const path = require('node:path');

const results = path.join(__dirname, 'results');
const COLORS = ['#1f6feb', '#8250df', '#bf8700', '#57606a', '#cf222e'];
const escape = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * One panel of horizontal grouped bars. `groups`: [{ label, bars: [{ series, value, text }] }].
 * `scale`: 'log' or 'linear'. Returns SVG elements and the panel's height.
 */
function panel({ title, groups, series, scale, unit, x, y, width }) {
  const labelWidth = 190;
  const barHeight = 14;
  const gap = 10;
  const plotWidth = width - labelWidth - 210; // room for the value text after the longest bar
  const values = groups.flatMap((g) => g.bars.map((b) => b.value)).filter((v) => v > 0);
  const max = Math.max(...values);
  const min = scale === 'log' ? Math.min(...values) : 0;
  const logMin = Math.floor(Math.log10(min / 2)); // the shortest bar keeps some length
  const logMax = Math.ceil(Math.log10(max));
  const position = (v) =>
    scale === 'log' ? ((Math.log10(v) - logMin) / (logMax - logMin)) * plotWidth : (v / (max * 1.05)) * plotWidth;
  const out = [`<text x="${x}" y="${y + 14}" font-weight="bold">${escape(title)}</text>`];
  let top = y + 28;
  const plotTop = top;
  for (const group of groups) {
    out.push(
      `<text x="${x + labelWidth - 8}" y="${top + (group.bars.length * barHeight) / 2 + 4}" text-anchor="end">${escape(group.label)}</text>`,
    );
    for (const bar of group.bars) {
      const color = COLORS[series.indexOf(bar.series) % COLORS.length];
      const w = Math.max(1, position(bar.value));
      out.push(
        `<rect x="${x + labelWidth}" y="${top}" width="${w.toFixed(1)}" height="${barHeight - 2}" fill="${color}"/>`,
      );
      out.push(
        `<text x="${x + labelWidth + w + 4}" y="${top + barHeight - 3}" font-size="11">${escape(bar.text)}</text>`,
      );
      top += barHeight;
    }
    top += gap;
  }
  // Axis ticks.
  const ticks =
    scale === 'log' ? Array.from({ length: logMax - logMin + 1 }, (_, i) => 10 ** (logMin + i)) : linearTicks(max);
  for (const tick of ticks) {
    const tx = x + labelWidth + (tick === 0 ? 0 : position(tick));
    out.push(
      `<line x1="${tx}" y1="${plotTop - 4}" x2="${tx}" y2="${top - gap}" stroke="#d0d7de" stroke-dasharray="2,2"/>`,
    );
    out.push(`<text x="${tx}" y="${top + 4}" font-size="10" text-anchor="middle" fill="#57606a">${tick}${unit}</text>`);
  }
  // Legend.
  let lx = x + labelWidth;
  top += 18;
  for (const [i, name] of series.entries()) {
    out.push(`<rect x="${lx}" y="${top - 9}" width="10" height="10" fill="${COLORS[i % COLORS.length]}"/>`);
    out.push(`<text x="${lx + 14}" y="${top}" font-size="11">${escape(name)}</text>`);
    lx += 24 + name.length * 6.5;
  }
  return { svg: out.join('\n'), height: top + 16 - y };
}

/** 0 and round steps (1, 2 or 5 × 10^n) up to `max`. */
function linearTicks(max) {
  const raw = max / 4;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw);
  return Array.from({ length: Math.floor(max / step) + 1 }, (_, i) => +(i * step).toPrecision(6));
}

function document(width, parts, caption) {
  let y = 10;
  const body = [];
  for (const part of parts) {
    const drawn = panel({ ...part, x: 10, y, width });
    body.push(drawn.svg);
    y += drawn.height + 10;
  }
  body.push(`<text x="10" y="${y + 4}" font-size="10" fill="#57606a">${escape(caption)}</text>`);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y + 14}" ` +
    `font-family="Helvetica, Arial, sans-serif" font-size="12">\n<rect width="100%" height="100%" fill="white"/>\n` +
    `${body.join('\n')}\n</svg>\n`
  );
}

function overheadChart() {
  const { machine, rows } = JSON.parse(fs.readFileSync(path.join(results, 'overhead.json'), 'utf8'));
  const libraries = [...new Set(rows.map((r) => r.library))];
  const groups = libraries.map((library) => ({
    label: library,
    bars: ['miss', 'hit'].map((kind) => {
      const row = rows.find((r) => r.library === library && r.path === kind);
      return {
        series: kind === 'miss' ? 'miss (1 caller per flight)' : 'hit (100 callers per flight)',
        value: row.nsPerCall,
        text: `${row.nsPerCall} ns (${row.vsPlainMap}×)`,
      };
    }),
  }));
  return document(
    760,
    [
      {
        title: 'Per-call overhead, ns per call (log scale; × = vs plain Map)',
        groups,
        series: ['miss (1 caller per flight)', 'hit (100 callers per flight)'],
        scale: 'log',
        unit: '',
      },
    ],
    `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${machine.date.slice(0, 10)}, medians of ${machine.rounds} interleaved rounds`,
  );
}

function threadsChart() {
  const { machine, rows } = JSON.parse(fs.readFileSync(path.join(results, 'threads.json'), 'utf8'));
  const executions = rows.map((r) => ({
    label: `${r.workers} worker${r.workers === 1 ? '' : 's'}`,
    bars: Object.entries(r.executionsPerFlight).map(([series, value]) => ({ series, value, text: value.toFixed(2) })),
  }));
  const latencySeries = ['threadflight', 'raw TSFN ping + v8 clone', 'raw TSFN ping'];
  const wake = rows
    .filter((r) => r.wakeMicros)
    .map((r) => ({
      label: `${r.workers} workers`,
      bars: [
        [latencySeries[0], r.wakeMicros],
        [latencySeries[1], r.pingWithCloneMicros],
        [latencySeries[2], r.rawPingMicros],
      ].map(([series, l]) => ({ series, value: l.p50, text: `p50 ${l.p50} µs, p99 ${l.p99} µs` })),
    }));
  return document(
    760,
    [
      {
        title: 'Executions of the work per flight, all threads on one hot key (ideal 1)',
        groups: executions,
        series: ['threadflight', 'promise-coalesce'],
        scale: 'linear',
        unit: '',
      },
      {
        title: 'Wake latency of a waiting thread after the leader settles (p50)',
        groups: wake,
        series: latencySeries,
        scale: 'linear',
        unit: ' µs',
      },
    ],
    `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${machine.date.slice(0, 10)}, ${machine.rounds} rounds per point`,
  );
}

for (const [name, draw] of [
  ['overhead', overheadChart],
  ['threads', threadsChart],
]) {
  if (!fs.existsSync(path.join(results, `${name}.json`))) {
    console.log(`bench/results/${name}.json is missing: run npm run bench:${name} first; ${name}.svg not drawn`);
    continue;
  }
  fs.writeFileSync(path.join(results, `${name}.svg`), draw());
  console.log(`wrote bench/results/${name}.svg`);
}
