// Edit mode of clustergeo's offline map: move schools between clusters by clicking, see the
// edited clusters' sizes against the rule bounds at once, undo, and download the edited plan
// as a CSV (school_id,cluster,status) for `clustergeo solve SCENARIO --start edits.csv` and
// `clustergeo check edits.csv --scenario SCENARIO`. Nothing here asks the network for anything.
function cgEditMode(map, D, markers) {
  const E = D.edit;
  const where = D.schools.map(s => s.cluster);
  const edits = [];
  let editing = false;
  const esc = t => String(t).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const num = v => v.toLocaleString('en-GB');

  function popup(i) {
    const s = D.schools[i];
    const div = document.createElement('div');
    div.innerHTML = s.popup;
    if (!editing || !s.movable) return div;
    const row = document.createElement('p');
    row.innerHTML = '<label>Move to <select class="cg-move"></select></label>';
    const sel = row.querySelector('select');
    E.clusters.forEach(c => {
      const o = document.createElement('option');
      o.value = c; o.textContent = c; o.selected = c === where[i];
      sel.appendChild(o);
    });
    sel.addEventListener('change', () => { move(i, sel.value); map.closePopup(); });
    div.appendChild(row);
    return div;
  }
  markers.forEach((m, i) => m.bindPopup(() => popup(i)));

  function totals(c) {
    let pupils = 0, schools = 0;
    D.schools.forEach((s, i) => { if (s.status === 'placed' && where[i] === c) { pupils += s.pupils; schools += 1; } });
    return {pupils, schools};
  }
  function against(value, b, what) {
    const lo = b ? b[0] : null, hi = b ? b[1] : null;
    const cls = lo !== null && value < lo ? 'cg-under' : (hi !== null && value > hi ? 'cg-over' : 'cg-ok');
    const range = b ? ' (' + (lo === null ? '' : num(lo)) + '\u2013' + (hi === null ? '' : num(hi)) + ')' : '';
    const word = cls === 'cg-under' ? ' below the minimum' : (cls === 'cg-over' ? ' above the maximum' : '');
    return '<td class="' + cls + '" data-measure="' + what + '">' + num(value) + ' ' + what + range + word + '</td>';
  }
  function refresh() {
    const touched = [];
    edits.forEach(e => [e.from, e.to].forEach(c => { if (!touched.includes(c)) touched.push(c); }));
    let h = '';
    if (touched.length) {
      h += '<table class="cg-sizes"><tr><th>Edited cluster</th><th>Pupils</th><th>Schools</th></tr>';
      touched.forEach(c => {
        const t = totals(c);
        h += '<tr data-cluster="' + esc(c) + '"><th>' + esc(c) + '</th>' +
          against(t.pupils, E.bounds.pupils, 'pupils') + against(t.schools, E.bounds.schools, 'schools') + '</tr>';
      });
      h += '</table>';
    } else {
      h += '<p>Click a school, then choose its new cluster in the popup.</p>';
    }
    h += '<ol class="cg-edits">' + edits.map(e => '<li>' + esc(D.schools[e.i].name) + ': ' + esc(e.from) +
      ' \u2192 ' + esc(e.to) + '</li>').join('') + '</ol>';
    body.querySelector('.cg-state').innerHTML = h;
    body.querySelector('.cg-undo').disabled = !edits.length;
    body.querySelector('.cg-download').disabled = !edits.length;
    markers.forEach((m, i) => m.setStyle(where[i] !== D.schools[i].cluster ? {color: '#d00000', weight: 3} :
      {color: '#000', weight: D.schools[i].apart ? 1 : 0}));
  }
  function move(i, to) {
    if (to === where[i]) return;
    edits.push({i, from: where[i], to});
    where[i] = to;
    refresh();
  }
  function undo() {
    const e = edits.pop();
    if (e) { where[e.i] = e.from; refresh(); }
  }
  function csv() {
    const q = v => (v === null || v === undefined) ? '' : (/[",\n]/.test(v) ? '"' + String(v).replace(/"/g, '""') + '"' : String(v));
    const lines = ['school_id,cluster,status'];
    D.schools.forEach((s, i) => lines.push([q(s.id), q(where[i]), q(s.status)].join(',')));
    return lines.join('\n') + '\n';
  }
  function download() {
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([csv()], {type: 'text/csv'}));
    a.download = 'edits.csv';
    document.body.appendChild(a); a.click(); a.remove();
  }

  const control = L.control({position: 'bottomleft'});
  let body;
  control.onAdd = () => {
    body = L.DomUtil.create('div', 'cg-legend cg-edit');
    body.id = 'cg-edit';
    body.innerHTML = '<label><input type="checkbox" class="cg-edit-toggle"> <b>edit mode</b></label>' +
      '<div class="cg-edit-body" hidden><div class="cg-state"></div>' +
      '<button type="button" class="cg-undo">Undo</button> ' +
      '<button type="button" class="cg-download">Download edits</button>' +
      '<p class="cg-note">Bounds: ' + esc(E.bounds_text) + '. The CSV is the whole plan with your moves: ' +
      '<code>clustergeo solve SCENARIO --start edits.csv</code> repairs around them.</p></div>';
    L.DomEvent.disableClickPropagation(body); L.DomEvent.disableScrollPropagation(body);
    body.querySelector('.cg-edit-toggle').addEventListener('change', e => {
      editing = e.target.checked;
      body.querySelector('.cg-edit-body').hidden = !editing;
      map.closePopup();
    });
    body.querySelector('.cg-undo').addEventListener('click', undo);
    body.querySelector('.cg-download').addEventListener('click', download);
    return body;
  };
  control.addTo(map);
  refresh();
  return {move, undo, csv, edits};
}
