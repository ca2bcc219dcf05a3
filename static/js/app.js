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
