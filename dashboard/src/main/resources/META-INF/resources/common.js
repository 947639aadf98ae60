// Feature Relay dashboard: what every figure's script shares (loaded first; app.js starts the page).
'use strict';

const state = {
  view: null, selected: null, selectedCurve: null, refreshMillis: 2000, summaries: {},
  // the comparison view's picks: null until a person picks (then it follows the run picked at the top)
  compare: null, compareWithBase: true
};
const charts = {};
const COLORS = { base: '#6b4fbb', transfer: '#1f77b4', scratch: '#d62728', 'fine-tune': '#2ca02c' };
/** How each role's line is drawn where several runs share a chart (the run has the colour). */
const DASHES = { transfer: [], scratch: [6, 4], 'fine-tune': [2, 3], base: [10, 3, 2, 3] };
const ROLE_NAMES = { base: 'base model', transfer: 'model 2', scratch: 'from scratch', 'fine-tune': 'fine-tuned' };
const RUN_PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

function $(id) { return document.getElementById(id); }

function fmt(x, digits) { return x == null ? '-' : Number(x).toFixed(digits); }

function show(id, visible) { $(id).hidden = !visible; }

/** Creates the chart on first use; afterwards only its data changes (no flicker, no re-creation). */
function upsertChart(id, type, labels, datasets, options, plugins) {
  if (charts[id]) {
    charts[id].data.labels = labels;
    charts[id].data.datasets = datasets;
    charts[id].update('none');
    return charts[id];
  }
  charts[id] = new Chart($(id), {
    type, data: { labels, datasets }, plugins: plugins || [],
    options: { animation: false, responsive: true, ...options }
  });
  return charts[id];
}

function lineChart(id, datasets, labels) {
  upsertChart(id, 'line', labels, datasets, {
    spanGaps: true,
    scales: {
      x: { title: { display: true, text: 'epoch' } },
      y: { title: { display: true, text: 'validation accuracy' }, suggestedMin: 0.5, suggestedMax: 1 }
    }
  });
}

/**
 * Where a fine-tuned model's epochs go on an epoch axis: it trains after model 2's head epochs, so when its
 * epochs are numbered from 1 they are drawn after model 2's last (numbered after them, they stay where they are).
 */
function fineTuneOffset(run) {
  if (!run || !run.fineTune || run.fineTune.epochs.length === 0 || !run.transfer) return 0;
  const last = Math.max(0, ...run.transfer.epochs.map(e => e.epoch));
  const first = Math.min(...run.fineTune.epochs.map(e => e.epoch));
  return first <= last ? last : 0;
}

/**
 * One line of an epoch-aligned chart: the model's accuracy at each of {@code epochs} (null where it has none),
 * tagged with its run, role and epoch offset so that a test (or a person at the console) can tell the lines apart.
 */
function epochLine(model, role, run, epochs, offset, style) {
  const byEpoch = new Map((model ? model.epochs : []).filter(e => e.validationAccuracy != null)
    .map(e => [e.epoch + offset, e.validationAccuracy]));
  return { data: epochs.map(e => byEpoch.has(e) ? byEpoch.get(e) : null), role, run, epochOffset: offset, ...style };
}

/** The epochs a set of (model, offset) pairs cover, ascending. */
function epochAxis(pairs) {
  const all = new Set();
  pairs.forEach(([model, offset]) => model && model.epochs.forEach(e => all.add(e.epoch + offset)));
  return [...all].sort((a, b) => a - b);
}

/** Replaces a select's options only when they changed (keeps the open list and focus), keeps the pick valid. */
function fillPicker(picker, options, selected) {
  const values = options.map(o => o.value);
  const value = values.includes(selected) ? selected : (values[0] || null);
  if (picker.dataset.values !== values.join('|')) {
    picker.replaceChildren(...options.map(o => new Option(o.text, o.value)));
    picker.dataset.values = values.join('|');
  }
  picker.value = value;
  return value;
}
