// Feature Relay dashboard, figure 5: a learning curve (accuracy against labelled images per class, log axis).
'use strict';

const CURVE_ROLES = ['transfer', 'scratch', 'fine-tune'];

/** Draws a dashed line and a label where the baseline's line meets model 2's (the crossover of the view). */
const crossoverPlugin = {
  id: 'crossover',
  afterDatasetsDraw(chart) {
    const c = chart.$crossover;
    if (!c || c.imagesPerClass == null) return;
    const { ctx, chartArea, scales } = chart;
    const x = scales.x.getPixelForValue(c.imagesPerClass);
    ctx.save();
    ctx.strokeStyle = '#444';
    ctx.setLineDash([4, 4]);
    ctx.beginPath();
    ctx.moveTo(x, chartArea.top);
    ctx.lineTo(x, chartArea.bottom);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = '#222';
    ctx.font = '12px system-ui, sans-serif';
    const text = `lines meet: ${c.imagesPerClass} per class`;
    const width = ctx.measureText(text).width;
    ctx.fillText(text, Math.min(x + 6, chartArea.right - width), chartArea.top + 14);
    ctx.restore();
  }
};

function curveOptions(view) {
  return view.learningCurves.map(c => ({ value: c.curve, text: `${c.curve}  ←  ${c.baseRun || '?'}` }));
}

function renderLearningCurve(view) {
  const picker = $('curve-picker');
  state.selectedCurve = fillPicker(picker, curveOptions(view), state.selectedCurve);
  const curve = view.learningCurves.find(c => c.curve === state.selectedCurve) || null;
  show('curve-toolbar', view.learningCurves.length > 0);
  show('learning-curve-empty', !curve);
  show('learning-curve-chart', !!curve);
  $('curve-lineage').textContent = curve ? `base model ${curve.baseRun || '?'} → curve ${curve.curve}` : '';
  renderCrossover(curve);
  renderCurveTable(curve);
  if (!curve) {
    // no chart is made on a hidden canvas (it would have no size until the next resize)
    if (charts['learning-curve']) upsertChart('learning-curve', 'line', undefined, []);
    return;
  }
  const points = curve.points.filter(p => p.imagesPerClass != null && p.accuracy != null);
  const datasets = CURVE_ROLES.filter(role => points.some(p => p.role === role)).map(role => ({
    label: ROLE_NAMES[role], role, borderColor: COLORS[role], backgroundColor: COLORS[role],
    data: points.filter(p => p.role === role).map(p => ({ x: p.imagesPerClass, y: p.accuracy, budget: p.budget }))
  }));
  const crossover = curve.crossover;
  if (crossover) {
    datasets.push({
      label: 'lines meet', role: 'crossover', showLine: false, pointStyle: 'crossRot', pointRadius: 9,
      borderColor: '#222', backgroundColor: '#222', borderWidth: 2,
      data: [{ x: crossover.imagesPerClass, y: crossover.accuracy, budget: crossover.budget }]
    });
  }
  const chart = upsertChart('learning-curve', 'line', undefined, datasets, {
    scales: {
      x: { type: 'logarithmic', title: { display: true, text: 'labelled images per class (log)' } },
      y: { title: { display: true, text: 'final validation accuracy' }, suggestedMin: 0.5, suggestedMax: 1 }
    }
  }, [crossoverPlugin]);
  chart.$crossover = crossover;
  chart.update('none');
}

function renderCrossover(curve) {
  const p = $('learning-curve-crossover');
  const c = curve && curve.crossover;
  p.hidden = !curve;
  ['budget', 'imagesPerClass', 'role'].forEach(k => { if (c) p.dataset[k] = String(c[k]); else delete p.dataset[k]; });
  if (!curve) return;
  p.textContent = c
    ? `The lines meet at ${c.imagesPerClass} labelled images per class (budget ${c.budget}): from scratch `
      + `${fmt(c.accuracy, 4)}, model 2 ${fmt(c.transferAccuracy, 4)}. Below it, transfer saves labelling.`
    : 'The from-scratch baseline does not reach model 2 at any budget measured so far: transfer pays over the whole curve.';
}

/** Each budget's figures: accuracy and training seconds per model. */
function renderCurveTable(curve) {
  const table = $('learning-curve-table');
  table.hidden = !curve;
  const body = table.tBodies[0];
  if (!curve) { body.replaceChildren(); return; }
  const budgets = [...new Set(curve.points.map(p => p.budget))];
  body.replaceChildren(...budgets.map(budget => {
    const tr = document.createElement('tr');
    tr.dataset.budget = budget;
    const at = curve.points.filter(p => p.budget === budget);
    const cells = [budget, fmt(at[0].imagesPerClass, 0), ...CURVE_ROLES.map(role => {
      const p = at.find(x => x.role === role);
      return p ? `${fmt(p.accuracy, 4)} (${fmt(p.seconds, 1)} s)` : '-';
    })];
    cells.forEach((text, i) => {
      const td = document.createElement('td');
      td.textContent = text;
      if (i > 0) td.className = 'num';
      tr.append(td);
    });
    return tr;
  }));
}
