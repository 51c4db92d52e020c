/* Copyright 2026 The moral_compass_ros authors
   SPDX-License-Identifier: Apache-2.0 */
// Operator login: posts the id and token as JSON (same origin), then opens the tablet page.
"use strict";
document.getElementById("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = document.getElementById("login-error");
  const button = document.getElementById("login-button");
  error.textContent = "";
  button.disabled = true;
  try {
    const response = await fetch("/api/login", {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({
        operator: document.getElementById("operator").value.trim(),
        token: document.getElementById("token").value,
      }),
      credentials: "same-origin",
    });
    if (response.ok) {
      window.location.assign("/");
      return;
    }
    const body = await response.json().catch(() => ({}));
    error.textContent = response.status === 429
      ? "Too many failed logins. Wait a minute and try again."
      : (body.error || "Login failed.");
  } catch (e) {
    error.textContent = "The robot cannot be reached.";
  } finally {
    document.getElementById("token").value = "";
    button.disabled = false;
  }
});
