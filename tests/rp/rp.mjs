// A relying party built on openid-client (OpenID Certified), driven step by step by
// tests/test_relying_parties.py, which plays the browser in between.
//   node rp.mjs start  '<json: issuer, client_id, client_secret, redirect_uri>'
//   node rp.mjs finish '<json: the same plus callback, verifier, state, nonce, post_logout>'
// Each step prints one JSON object on stdout.
import * as oidc from 'openid-client'

const [step, raw] = process.argv.slice(2)
const input = JSON.parse(raw)
// The tests serve the provider over loopback http; openid-client refuses that unless told.
const config = await oidc.discovery(
  new URL(input.issuer),
  input.client_id,
  undefined,
  oidc.ClientSecretBasic(input.client_secret),
  { execute: [oidc.allowInsecureRequests] },
)

if (step === 'start') {
  const verifier = oidc.randomPKCECodeVerifier()
  const state = oidc.randomState()
  const nonce = oidc.randomNonce()
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: input.redirect_uri,
    scope: 'openid email offline_access',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  })
  console.log(JSON.stringify({ url: url.href, verifier, state, nonce }))
} else if (step === 'finish') {
  const tokens = await oidc.authorizationCodeGrant(config, new URL(input.callback), {
    pkceCodeVerifier: input.verifier,
    expectedState: input.state,
    expectedNonce: input.nonce,
    idTokenExpected: true,
  })
  const claims = tokens.claims()
  const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub)
  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token)
  const logout = oidc.buildEndSessionUrl(config, {
    id_token_hint: refreshed.id_token,
    post_logout_redirect_uri: input.post_logout,
    state: 'bye',
  })
  console.log(JSON.stringify({
    sub: claims.sub,
    userinfo,
    refreshed: refreshed.refresh_token !== tokens.refresh_token && Boolean(refreshed.access_token),
    first_refresh_token: tokens.refresh_token,
    logout: logout.href,
  }))
} else {
  throw new Error(`unknown step ${step}`)
}
