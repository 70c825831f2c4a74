// The header's <details> menus (base.html) open and close without script; this closes an open one on a click
// elsewhere or on Escape (the focus goes back to its title), and keeps one open at a time. On a phone, the links
// folded behind « Menu » (details.nav-fold) close the same way once no menu is open, and take their menus with them.
(function () {
  "use strict";
  var menus = document.querySelectorAll("details.nav-menu");
  var fold = document.querySelector("details.nav-fold");
  function closeAll(except) {
    menus.forEach(function (menu) { if (menu !== except) { menu.open = false; } });
  }
  menus.forEach(function (menu) {
    menu.addEventListener("toggle", function () { if (menu.open) { closeAll(menu); } });
  });
  if (fold) {
    fold.addEventListener("toggle", function () { if (!fold.open) { closeAll(null); } });
  }
  document.addEventListener("click", function (event) {
    menus.forEach(function (menu) { if (menu.open && !menu.contains(event.target)) { menu.open = false; } });
    if (fold && fold.open && !fold.closest("nav").contains(event.target)) { fold.open = false; }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var closed = false;
    menus.forEach(function (menu) {
      if (menu.open) { menu.open = false; menu.querySelector("summary").focus(); closed = true; }
    });
    if (!closed && fold && fold.open && fold.getClientRects().length) {  // shown: on a phone
      fold.open = false;
      fold.querySelector("summary").focus();
    }
  });
})();
