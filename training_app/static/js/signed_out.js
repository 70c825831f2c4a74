/* Signed out (or not signed in): the drawing a trainer's refused closing left in this tab (attendance.js keeps it
   in sessionStorage, "emargement-signature-<user>-<half-day>") is forgotten, so that a shared tablet keeps no
   signature image once its user has signed out. */
(function () {
  "use strict";
  try {
    for (var i = window.sessionStorage.length - 1; i >= 0; i--) {
      var key = window.sessionStorage.key(i);
      if (key && key.indexOf("emargement-signature-") === 0) { window.sessionStorage.removeItem(key); }
    }
  } catch (error) { /* storage refused (private browsing): nothing was kept */ }
})();
