// Counts down to when a new code may be asked for. The page works without
// it: the server refuses an early resend with a clear message.
(function () {
  var button = document.getElementById("resend");
  if (!button || !button.dataset.resendAt) return;
  var at = Date.parse(button.dataset.resendAt);
  var note = document.getElementById("resend-note");
  var label = button.textContent;
  function tick() {
    var left = Math.ceil((at - Date.now()) / 1000);
    if (left > 0) {
      button.disabled = true;
      button.textContent = label + " (in " + left + " s)";
      if (note) note.hidden = true;
      setTimeout(tick, 1000);
    } else {
      button.disabled = false;
      button.textContent = label;
    }
  }
  tick();
})();
