/* Attendance: signature pads (trainer's tablet, trainee's phone) and the status forms of a sheet. */
(function () {
  "use strict";

  // The trainer's drawing after a refused closing, kept in this tab (sessionStorage, keyed by user and half-day:
  // data-keep of the pad, data-signature-key of the sheet) across the status fixes that follow it (a POST, then a
  // redirect): never sent to the server but by the closing form. Out of sessionStorage once the pad is cleared, or
  // on the sheet's display without that pad (closed, or signed by the trainer).
  function kept(key, value) {
    try {
      if (value === undefined) { return window.sessionStorage.getItem(key) || ""; }
      if (value) { window.sessionStorage.setItem(key, value); } else { window.sessionStorage.removeItem(key); }
    } catch (error) { /* storage refused (private browsing, quota): the drawing is only not kept */ }
    return "";
  }

  function makePad(box) {
    var canvas = box.querySelector("canvas");
    var pad = new window.SignaturePad(canvas, { penColor: "#10224d", minWidth: 1, maxWidth: 3 });
    var form = box.closest("form");
    var input = form.querySelector("input[name$='signature']");
    var error = box.querySelector("[data-pad-error]");
    var maxSide = parseInt(box.getAttribute("data-max-side"), 10) || 1500;
    // A signature drawn before a refused closing, put back by the server: drawn again, with any stroke added since.
    var initial = box.getAttribute("data-initial") || "";
    var keep = box.getAttribute("data-keep") || "";
    if (keep && initial) { kept(keep, initial); } else if (keep) { initial = kept(keep); }
    if (initial.indexOf("data:image/png;base64,") !== 0) { initial = ""; }

    function fit() {
      var width = canvas.offsetWidth, height = canvas.offsetHeight;
      // Sharp on a high-density screen, but never more than maxSide pixels a side (the PNG sent is the
      // canvas): a wide pad on a 3x screen would otherwise exceed what the server accepts.
      var ratio = Math.min(Math.max(window.devicePixelRatio || 1, 1), maxSide / Math.max(width, height, 1));
      var strokes = pad.toData();
      canvas.width = Math.floor(width * ratio);
      canvas.height = Math.floor(height * ratio);
      canvas.getContext("2d").scale(ratio, ratio);
      pad.clear();
      if (initial) { pad.fromDataURL(initial, { ratio: ratio }); }
      pad.fromData(strokes, { clear: false });
    }

    window.addEventListener("resize", fit);
    fit();
    pad.addEventListener("beginStroke", function () { if (error) { error.hidden = true; } });
    if (keep) {  // strokes added to a kept drawing are kept with it
      pad.addEventListener("endStroke", function () { if (kept(keep)) { kept(keep, pad.toDataURL("image/png")); } });
    }
    var clear = box.querySelector("[data-pad-clear]");
    if (clear) {
      clear.addEventListener("click", function () { initial = ""; pad.clear(); if (keep) { kept(keep, ""); } });
    }
    form.addEventListener("submit", function (event) {
      if (pad.isEmpty()) {
        event.preventDefault();
        if (error) { error.hidden = false; }
        return;
      }
      input.value = pad.toDataURL("image/png");
    });
    return { pad: pad, fit: fit };
  }

  var dialog = document.getElementById("pad-dialog");
  if (dialog) {
    var shared = makePad(dialog.querySelector("[data-signature-pad]"));
    document.querySelectorAll("[data-sign-action]").forEach(function (button) {
      button.addEventListener("click", function () {
        dialog.querySelector("form").action = button.getAttribute("data-sign-action");
        dialog.querySelector("[data-sign-title]").textContent = button.getAttribute("data-sign-title");
        shared.pad.clear();
        dialog.showModal();
        shared.fit();
      });
    });
    dialog.querySelector("[data-pad-cancel]").addEventListener("click", function () { dialog.close(); });
  }

  document.querySelectorAll("[data-signature-pad]").forEach(function (box) {
    if (!box.closest("dialog")) { makePad(box); }
  });
  document.querySelectorAll("[data-signature-key]").forEach(function (sheet) {
    var key = sheet.getAttribute("data-signature-key");
    var pads = document.querySelectorAll("[data-signature-pad][data-keep]");
    if (!Array.prototype.some.call(pads, function (box) { return box.getAttribute("data-keep") === key; })) {
      kept(key, "");
    }
  });

  document.querySelectorAll("[data-status-form]").forEach(function (form) {
    var select = form.querySelector("select");
    function listed(group, name) {
      return (group.getAttribute(name) || "").split(" ").indexOf(select.value) >= 0;
    }
    function filled(group) {
      return Array.prototype.some.call(group.querySelectorAll("input"), function (input) {
        return input.type !== "file" && input.value.trim() !== "";
      });
    }
    // A group shows for the statuses of data-show-for, and for those of data-keep-for while it holds a value
    // (a late arrival who also left early). A hidden group's fields are disabled: a time typed, then hidden by
    // another status, is not sent with it.
    function sync() {
      form.querySelectorAll("[data-show-for]").forEach(function (group) {
        group.hidden = !(listed(group, "data-show-for") || (listed(group, "data-keep-for") && filled(group)));
        group.querySelectorAll("input, select, textarea").forEach(function (input) { input.disabled = group.hidden; });
      });
    }
    select.addEventListener("change", sync);
    sync();
  });
})();
