// Member pages: show only the grids of the chosen community (the CSP forbids inline script).
(function () {
  function narrowGrids(communitySelect) {
    var grid = document.getElementById(communitySelect.getAttribute('data-grid-target'));
    if (!grid) { return; }
    var community = communitySelect.value;
    var keep = false;
    Array.prototype.forEach.call(grid.options, function (opt) {
      var owner = opt.getAttribute('data-community');
      var show = !owner || owner === community;
      opt.hidden = !show;
      opt.disabled = !show;
      if (show && opt.selected && owner) { keep = true; }
    });
    if (!keep) { grid.value = grid.options.length ? grid.options[0].value : ''; }
  }
  document.querySelectorAll('select[data-grid-target]').forEach(function (select) {
    narrowGrids(select);
    select.addEventListener('change', function () { narrowGrids(select); });
  });
})();
