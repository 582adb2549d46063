// A real OpenID provider for the single-sign-on tests: npm `oidc-provider` (a certified implementation)
// on 127.0.0.1, with one confidential test client. Prints "READY <issuer>" once it listens.
//
//   CLIENT_ID, CLIENT_SECRET, REDIRECT_URI   the test client
//   ISSUER_HOST                             the issuer's host name (default 127.0.0.1; "localhost" puts the
//                                           provider on another site than an app on 127.0.0.1)
//
// A small control endpoint, POST /test/control with a JSON body, stands in for the provider's admin:
//   {"accounts": {"<sub>": {claims...}}}   the directory (groups, preferred_username, email...)
//   {"login": "<sub>"}                    who signs in at the next login prompt (no form to fill)
//   {"tamper": "audience" | "expired" | "wrong-key" | null}
//       the next token responses carry an ID token re-signed with the provider's own key but issued to
//       another audience, or already expired; "wrong-key" signs it with a key the provider never published.
import http from "node:http";
import { Provider } from "oidc-provider";
import { generateKeyPair, exportJWK, SignJWT, decodeJwt, decodeProtectedHeader } from "jose";

const { CLIENT_ID, CLIENT_SECRET, REDIRECT_URI } = process.env;

async function signingKey(kid) {
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { privateKey, jwk: { ...jwk, kid, alg: "RS256", use: "sig" } };
}

const published = await signingKey("test-key");
const unpublished = await signingKey("test-key"); // same kid, never in the JWKS

let accounts = {};
let nextLogin = null;
let tamper = null;

const server = http.createServer();
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const issuer = `http://${process.env.ISSUER_HOST || "127.0.0.1"}:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uris: [REDIRECT_URI],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
    },
  ],
  jwks: { keys: [published.jwk] },
  scopes: ["openid", "email", "profile", "groups"],
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["preferred_username", "name"],
    groups: ["groups"],
  },
  conformIdTokenClaims: false, // scope claims in the ID token itself
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  cookies: { keys: ["oidc-test-cookie-key"] },
  async findAccount(ctx, sub) {
    if (!accounts[sub]) return undefined;
    return { accountId: sub, async claims() { return { sub, ...accounts[sub] }; } };
  },
  async loadExistingGrant(ctx) {
    // First-party client: consent is implied, so no consent prompt.
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope("openid email profile groups");
    await grant.save();
    return grant;
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
});
provider.proxy = false;
const callback = provider.callback();

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

async function forged(idToken) {
  const claims = decodeJwt(idToken);
  const header = decodeProtectedHeader(idToken);
  const now = Math.floor(Date.now() / 1000);
  if (tamper === "audience") claims.aud = "someone-else";
  if (tamper === "expired") Object.assign(claims, { iat: now - 1200, exp: now - 600 });
  const key = tamper === "wrong-key" ? unpublished.privateKey : published.privateKey;
  return new SignJWT(claims).setProtectedHeader({ alg: header.alg, kid: header.kid, typ: header.typ }).sign(key);
}

function tamperWith(res) {
  // Re-sign the ID token in the token endpoint's JSON answer before it leaves.
  const chunks = [];
  const write = res.write.bind(res);
  const end = res.end.bind(res);
  res.write = (chunk) => { chunks.push(Buffer.from(chunk)); return true; };
  res.end = (chunk, ...rest) => {
    if (chunk && typeof chunk !== "function") chunks.push(Buffer.from(chunk));
    const text = Buffer.concat(chunks).toString("utf8");
    let body;
    try { body = JSON.parse(text); } catch { res.write = write; return end(text); }
    if (!body.id_token) { return end(text); }
    forged(body.id_token).then((token) => {
      body.id_token = token;
      const out = JSON.stringify(body);
      res.setHeader("content-length", Buffer.byteLength(out));
      end(out);
    });
    return res;
  };
}

server.on("request", async (req, res) => {
  try {
    if (req.method === "POST" && req.url === "/test/control") {
      const change = JSON.parse(await readBody(req));
      if ("accounts" in change) accounts = change.accounts;
      if ("login" in change) nextLogin = change.login;
      if ("tamper" in change) tamper = change.tamper;
      res.end("ok");
      return;
    }
    if (req.method === "GET" && req.url.startsWith("/interaction/")) {
      const details = await provider.interactionDetails(req, res);
      if (details.prompt.name === "login") {
        if (!nextLogin) { res.statusCode = 400; res.end("no login set"); return; }
        await provider.interactionFinished(req, res, { login: { accountId: nextLogin } }, { mergeWithLastSubmission: false });
        return;
      }
      const grant = new provider.Grant({ clientId: details.params.client_id, accountId: details.session.accountId });
      grant.addOIDCScope("openid email profile groups");
      await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
      return;
    }
    if (tamper && req.method === "POST" && req.url.startsWith("/token")) tamperWith(res);
    callback(req, res);
  } catch (err) {
    console.error(err);
    res.statusCode = 500;
    res.end(String(err));
  }
});

console.log(`READY ${issuer}`);
