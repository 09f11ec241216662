// Passkeys on the auth pages: sign-in (autofill and button), creating one (account page and
// the offer after a sign-in). Served by auth as a static file (CSP script-src 'self'); the
// pages work without it (password, email code, the account page's rename and remove forms).
"use strict";

(function () {
  if (!window.PublicKeyCredential || !navigator.credentials) return;

  const b64 = {
    decode(text) {
      const base = text.replace(/-/g, "+").replace(/_/g, "/");
      const raw = atob(base + "===".slice((base.length + 3) % 4));
      return Uint8Array.from(raw, (c) => c.charCodeAt(0)).buffer;
    },
    encode(buffer) {
      const bytes = new Uint8Array(buffer);
      let raw = "";
      for (const b of bytes) raw += String.fromCharCode(b);
      return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    },
  };

  function requestOptions(json) {
    const options = Object.assign({}, json, { challenge: b64.decode(json.challenge) });
    options.allowCredentials = (json.allowCredentials || []).map((c) =>
      Object.assign({}, c, { id: b64.decode(c.id) }));
    return options;
  }

  function creationOptions(json) {
    const options = Object.assign({}, json, { challenge: b64.decode(json.challenge) });
    options.user = Object.assign({}, json.user, { id: b64.decode(json.user.id) });
    options.excludeCredentials = (json.excludeCredentials || []).map((c) =>
      Object.assign({}, c, { id: b64.decode(c.id) }));
    return options;
  }

  function credentialJSON(credential) {
    const r = credential.response;
    const response = { clientDataJSON: b64.encode(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = b64.encode(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = b64.encode(r.authenticatorData);
      response.signature = b64.encode(r.signature);
      if (r.userHandle) response.userHandle = b64.encode(r.userHandle);
    }
    return {
      id: credential.id,
      rawId: b64.encode(credential.rawId),
      type: credential.type,
      response: response,
      clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
    };
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body || {}),
    });
    const data = await response.json().catch(() => ({}));
    return { ok: response.ok, status: response.status, data: data };
  }

  function show(element) {
    if (element) element.hidden = false;
  }

  // Sign-in: the autofill (conditional mediation) on the email field, and a button.
  const signIn = document.querySelector("[data-passkey-signin]");
  if (signIn) {
    const error = signIn.querySelector("[data-passkey-error]");
    let pending = null;

    async function run(mediation) {
      if (pending) pending.abort();
      const controller = new AbortController();
      pending = controller;
      const options = await post("/v1/passkeys/sign-in/options");
      if (!options.ok) return;
      const request = { publicKey: requestOptions(options.data), signal: controller.signal };
      if (mediation) request.mediation = mediation;
      let credential;
      try {
        credential = await navigator.credentials.get(request);
      } catch (e) {
        if (e.name !== "AbortError" && !mediation) show(error);
        return;
      }
      if (!credential) return;
      const result = await post("/v1/passkeys/sign-in", {
        credential: credentialJSON(credential),
        csrf: signIn.dataset.csrf,
        return_to: signIn.dataset.returnTo,
      });
      if (result.ok) {
        window.location.assign(result.data.redirect);
      } else {
        show(error);  // not again by itself: the button (or a reload) tries once more
      }
    }

    show(signIn);
    const button = signIn.querySelector("[data-passkey-button]");
    if (button) button.addEventListener("click", () => run(null));
    if (PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then((available) => {
        if (available && signIn.dataset.autofill === "1") run("conditional");
      });
    }
  }

  // After a sign-in (password, with or without TOTP, or social) on a browser that can make a
  // passkey: the enrolment offer, by sending the sign-in's return through /passkeys/offer
  // (which goes straight on when there is nothing to offer).
  const offerForm = document.querySelector("form[data-offer-passkey]");
  if (offerForm && PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable) {
    PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable().then((yes) => {
      if (!yes) return;
      const via = (target) =>
        target.startsWith("/passkeys/offer") ? target
          : "/passkeys/offer?" + new URLSearchParams({ return_to: target || "/account" });
      const field = offerForm.querySelector("input[name=return_to]");
      if (field) field.value = via(field.value);
      for (const link of document.querySelectorAll("a[href^='/login/social/']")) {
        const url = new URL(link.href);
        url.searchParams.set("return_to", via(url.searchParams.get("return_to") || ""));
        link.href = url.pathname + url.search;
      }
      offerForm.dataset.passkeyOffer = "armed";
    });
  }

  // A new account with a passkey only: the address, then the passkey; the mail confirms.
  const signUp = document.querySelector("[data-passkey-signup]");
  if (signUp) {
    show(signUp);
    const error = signUp.querySelector("[data-passkey-error]");
    const done = signUp.querySelector("[data-passkey-done]");
    const field = signUp.querySelector("input[type=email]");
    signUp.querySelector("[data-passkey-signup-button]").addEventListener("click", async () => {
      error.hidden = true;
      if (!field.reportValidity()) return;
      const options = await post("/v1/passkeys/sign-up/options", {
        email: field.value, csrf: signUp.dataset.csrf, locale: signUp.dataset.locale,
      });
      if (!options.ok) return show(error);
      let credential;
      try {
        credential = await navigator.credentials.create({ publicKey: creationOptions(options.data) });
      } catch (e) {
        return show(error);
      }
      const result = await post("/v1/passkeys/sign-up", {
        credential: credentialJSON(credential), csrf: signUp.dataset.csrf,
      });
      if (!result.ok) return show(error);
      show(done);
    });
  }

  // Creating a passkey: the account page's button and the offer page's.
  for (const add of document.querySelectorAll("[data-passkey-add]")) {
    show(add.closest("[data-passkey-create]"));
    add.addEventListener("click", async () => {
      const box = add.closest("[data-passkey-create]");
      const error = box.querySelector("[data-passkey-error]");
      const options = await post("/v1/me/passkeys/options");
      if (options.status === 403) {
        window.location.assign("/login?prompt=login&return_to=" + encodeURIComponent(
          window.location.pathname + window.location.search));
        return;
      }
      if (!options.ok) return show(error);
      let credential;
      try {
        credential = await navigator.credentials.create({ publicKey: creationOptions(options.data) });
      } catch (e) {
        return show(error);
      }
      const result = await post("/v1/me/passkeys", { credential: credentialJSON(credential) });
      if (!result.ok) return show(error);
      window.location.assign(box.dataset.next || "/account?done=passkey-added");
    });
  }
})();
