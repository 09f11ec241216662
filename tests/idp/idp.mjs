// A certified OpenID provider (oidc-provider, OpenID Certified) that plays Google in the auth
// service's social sign-in tests. Started by a pytest fixture on loopback:
//   node idp.mjs '{"client_id": ..., "client_secret": ..., "redirect_uris": [...], "accounts": {...},
//                  "userinfo_only": false}'
// Prints the issuer URL on its first line once it listens. Dev interactions (login form that
// accepts any password for a known login, consent form) stand in for Google's pages.
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const config = JSON.parse(process.argv[2]);
const accounts = config.accounts;

const server = createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: config.client_id,
      client_secret: config.client_secret,
      redirect_uris: config.redirect_uris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    // Google puts the profile claims in the ID token; so does this provider, unless started
    // with "userinfo_only": then, as oidc-provider does by default (OIDC Core 5.4), the ID
    // token of the code flow carries only `sub` and the claims come from userinfo.
    conformIdTokenClaims: config.userinfo_only === true,
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name', 'picture', 'locale', 'birthdate'],
    },
    pkce: { required: () => true },
    cookies: { keys: ['test-only-cookie-key-0123456789abcdef'] },
    async findAccount(ctx, id) {
      const claims = accounts[id];
      if (!claims) return undefined;
      return { accountId: id, async claims() { return { sub: id, ...claims }; } };
    },
  });
  server.on('request', provider.callback());
  process.stdout.write(`${issuer}\n`);
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
