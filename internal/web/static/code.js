// Counts down to when a new code may be asked for. The page works without
// it: the server refuses an early resend with a clear message.
(function () {
  var button = document.getElementById("resend");
  if (!button || !button.dataset.resendAt) return;
  var at = Date.parse(button.dataset.resendAt);
  var note = document.getElementById("resend-note");
  var label = button.textContent;
  // The page's language: "{0} (in {1} s)", the label and the seconds.
  var wait = button.dataset.wait || "{0} (in {1} s)";
  function tick() {
    var left = Math.ceil((at - Date.now()) / 1000);
    if (left > 0) {
      button.disabled = true;
      button.textContent = wait.replace("{0}", label).replace("{1}", left);
      if (note) note.hidden = true;
      setTimeout(tick, 1000);
    } else {
      button.disabled = false;
      button.textContent = label;
    }
  }
  tick();
})();
