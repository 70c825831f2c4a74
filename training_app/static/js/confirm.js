// A form with data-confirm (or the button that submits it) asks its question first (the browser's « OK » / « Annuler »); « Annuler » sends nothing.
// Listened to on window, after the page's own checks on document (a pad left empty is reproached, not confirmed).
// The question never starts with « Annuler », which the browser's cancel button already says.
(function () {
  "use strict";
  window.addEventListener("submit", function (event) {
    var button = event.submitter, form = event.target;
    var question = (button && button.getAttribute("data-confirm")) || (form.getAttribute && form.getAttribute("data-confirm"));
    if (question && !event.defaultPrevented && !window.confirm(question)) { event.preventDefault(); }
  });
})();
