// Posts pages: show the session fields that match the chosen way of giving sessions, and
// narrow the kind filter to the chosen category. Everything works without this script.
(function () {
  var form = document.getElementById('post-form');
  if (form) {
    var sync = function () {
      var checked = form.querySelector('input[name=mode]:checked');
      var mode = checked ? checked.value : 'dates';
      form.querySelectorAll('[data-mode]').forEach(function (el) {
        el.hidden = el.getAttribute('data-mode') !== mode;
      });
    };
    form.addEventListener('change', function (event) {
      if (event.target.name === 'mode') { sync(); }
    });
    sync();
  }
  var category = document.getElementById('f-category');
  var kind = document.getElementById('f-kind');
  if (category && kind) {
    var narrow = function () {
      kind.querySelectorAll('option[data-category]').forEach(function (opt) {
        opt.hidden = category.value !== '' && opt.getAttribute('data-category') !== category.value;
      });
      if (kind.selectedOptions.length && kind.selectedOptions[0].hidden) { kind.value = ''; }
    };
    category.addEventListener('change', narrow);
    narrow();
  }
})();
