// Progressive help on the password settings page; the server checks and
// explains all of it without JavaScript too.
(function () {
  var enforce = document.getElementById("enforce_two_factor");
  var warning = document.getElementById("enforce-warning");
  var method = document.getElementById("otp_method");
  var auth = document.getElementById("auth_method");
  var twoFactor = document.getElementById("two-factor");
  if (enforce && warning) {
    var wasOn = enforce.hasAttribute("data-stored-on");
    enforce.addEventListener("change", function () {
      warning.hidden = enforce.checked || !wasOn;
    });
  }
  if (method) {
    method.addEventListener("change", function () {
      document.querySelectorAll("[data-when-sms]").forEach(function (el) { el.hidden = method.value !== "sms"; });
    });
  }
  if (auth && twoFactor) {
    auth.addEventListener("change", function () { twoFactor.disabled = auth.value !== "password"; });
  }
})();
