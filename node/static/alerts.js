// /alerts: subscribe this browser to push alerts (an enhancement: e-mail needs no script).
"use strict";

(function () {
  const form = document.getElementById("push-form");
  const unsupported = document.getElementById("push-unsupported");
  const status = document.getElementById("push-status");
  const meta = document.querySelector('meta[name="vapid-key"]');
  if (!form || !meta || !("serviceWorker" in navigator) || !("PushManager" in window)) return;

  const ready = navigator.serviceWorker.register("/sw.js", { scope: "/" });
  form.hidden = false;
  if (unsupported) unsupported.hidden = true;

  function keyBytes(base64url) {
    const padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  }

  // the page gives the words in the reader's language (data-* on the status line)
  const say = (name, english) => status.dataset[name] || english;

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.textContent = say("asking", "Asking your browser…");
    try {
      if ((await Notification.requestPermission()) !== "granted") {
        status.textContent = say("denied", "Alerts need your permission to show notifications.");
        return;
      }
      await ready;
      const registration = await navigator.serviceWorker.ready;
      const subscription = await registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: keyBytes(meta.content),
      });
      const scope = form.querySelector('input[name="scope"]:checked');
      const response = await fetch("/alerts/push", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          subscription: subscription.toJSON(),
          scope: scope ? scope.value : "urgent",
          federated: form.querySelector('input[name="federated"]').checked,
        }),
      });
      const answer = await response.json();
      status.textContent = response.ok
        ? say("on", "Alerts are on for this browser. Each alert has a link to stop them.")
        : answer.error || say("failed", "That did not work; please try again.");
    } catch (error) {
      status.textContent = say("unable", "Your browser could not turn on push alerts here.");
    }
  });
})();
