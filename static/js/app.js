// Small behaviours kept out of the templates (the CSP forbids inline script).
document.addEventListener('submit', function (event) {
  var form = event.target;
  var question = form.getAttribute('data-confirm');
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
}, true);

document.addEventListener('click', function (event) {
  var el = event.target.closest('[data-print]');
  if (el) { event.preventDefault(); window.print(); }
  var all = event.target.closest('[data-check-all]');
  if (all) {
    var name = all.getAttribute('data-check-all');
    document.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (box) {
      box.checked = all.checked;
    });
  }
});

// Stacked lists on phones: each cell is labelled with its column header (see app.css).
document.querySelectorAll('table.table-stack').forEach(function (table) {
  var heads = Array.prototype.map.call(table.querySelectorAll('thead > tr:first-child > th'), function (th) {
    return th.textContent.trim();
  });
  table.querySelectorAll(':scope > tbody > tr, :scope > tfoot > tr').forEach(function (tr) {
    var col = 0;
    Array.prototype.forEach.call(tr.children, function (td) {
      var span = parseInt(td.getAttribute('colspan') || '1', 10);
      if (!td.hasAttribute('data-label')) { td.setAttribute('data-label', span > 1 ? '' : (heads[col] || '')); }
      col += span;
    });
  });
});

// Long checkbox lists (skills, kinds, demands): a filter box hides the choices that do not match.
document.addEventListener('input', function (event) {
  var box = event.target.closest('[data-choice-filter]');
  if (!box) { return; }
  var needle = box.value.trim().toLowerCase();
  var group = document.getElementById(box.getAttribute('data-choice-filter'));
  group.querySelectorAll('[data-choice]').forEach(function (item) {
    var hit = !needle || item.getAttribute('data-choice').toLowerCase().indexOf(needle) !== -1
      || item.querySelector('input').checked;
    item.hidden = !hit;
  });
});
