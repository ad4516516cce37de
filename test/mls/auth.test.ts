/**
 * Authentication Service hook (RFC 9750 §4, RFC 9420 §5.3.1): basic and X.509 credentials.
 * X.509 chains are generated at test time with the `openssl` CLI (root → intermediate → leaf) for
 * Ed25519 (suite 1) and P-256 (suite 2).
 */
import { execFileSync } from "node:child_process";
import { createPrivateKey } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ValidationError } from "../../src/errors.js";
import {
  authenticationServiceByType,
  unsafeTestingAuthenticationService,
  type AuthenticationService,
} from "../../src/mls/auth/authentication-service.js";
import { basicCredentialAuthenticator } from "../../src/mls/auth/basic.js";
import { parseSubjectAltName, x509CredentialAuthenticator } from "../../src/mls/auth/x509.js";
import type { Credential } from "../../src/mls/core/credential.js";
import { createKeyPackage, validateKeyPackage } from "../../src/mls/messages/key-package-ops.js";
import { credentialTypes, proposalTypes } from "../../src/mls/core/protocol.js";
import { createCommit, createGroup, groupConfig, joinFromWelcome } from "../../src/mls/group/index.js";
import { fromBase64, utf8 } from "../../src/util/bytes.js";
import { PROVIDERS } from "../helpers/providers.js";

const basic = (id: string | Uint8Array): Credential => ({ credentialType: credentialTypes.basic, identity: typeof id === "string" ? utf8(id) : id });
const CTX = { cipherSuite: 1 };

async function expectRejected(f: () => unknown): Promise<ValidationError> {
  const err = await Promise.resolve()
    .then(f)
    .then(
      () => null,
      (e: unknown) => e,
    );
  expect(err).toBeInstanceOf(ValidationError);
  expect((err as ValidationError).code).toBe("valid.credential_rejected");
  return err as ValidationError;
}

describe("the authentication service on join (RFC 9420 §5.3.1, §12.4.3.1)", () => {
  it("checks every member's credential of a 150-member tree, at most 64 at once but overlapping", async () => {
    const cs = PROVIDERS[0]!.suite(1);
    const kps = await Promise.all(Array.from({ length: 150 }, (_, i) => createKeyPackage({ cs, credential: basic(`m${i}@example.org`) })));
    const config = groupConfig({ authenticationService: unsafeTestingAuthenticationService });
    const [first, ...rest] = kps;
    const group = await createGroup({ cs, config, leaf: { keyPackage: first!.keyPackage, privateKeys: first!.privateKeys } });
    const created = await createCommit(group, { proposals: rest.map((k) => ({ proposalType: proposalTypes.add, add: { keyPackage: k.keyPackage } })) });
    let inFlight = 0;
    let most = 0;
    const seen = new Set<string>();
    const slowAs: AuthenticationService = {
      ...unsafeTestingAuthenticationService,
      async validateCredential(credential, _key, ctx) {
        if (ctx.purpose !== "tree") return;
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((r) => setImmediate(r)); // an asynchronous lookup
        seen.add(new TextDecoder().decode(credential.credentialType === credentialTypes.basic ? credential.identity : new Uint8Array()));
        inFlight--;
      },
    };
    const joiner = rest[rest.length - 1]!;
    const joined = await joinFromWelcome({ cs, config: groupConfig({ authenticationService: slowAs }), welcome: created.welcome!, keyPackage: joiner.keyPackage, keyPackagePrivateKeys: joiner.privateKeys });
    expect(joined.state.members()).toHaveLength(150);
    expect(seen.size).toBe(150);
    expect(most).toBe(64);
    expect(inFlight).toBe(0);
  });
});

describe("basicCredentialAuthenticator", () => {
  const key = new Uint8Array(32);

  it("accepts allowed identities and rejects others", async () => {
    const as = basicCredentialAuthenticator({ allowedIdentities: ["alice@example.org", "bob@example.org/desk"] });
    as.validateCredential(basic("alice@example.org"), key, CTX);
    as.validateCredential(basic("bob@example.org/desk"), key, CTX);
    await expectRejected(() => as.validateCredential(basic("mallory@example.org"), key, CTX));
    await expectRejected(() => as.validateCredential(basic(""), key, CTX));
    await expectRejected(() => as.validateCredential(basic(new Uint8Array([0xff, 0xfe])), key, CTX));
    await expectRejected(() => as.validateCredential({ credentialType: credentialTypes.x509, certificates: [] }, key, CTX));
    expect(as.identity(basic("alice@example.org"))).toBe("alice@example.org");
  });

  it("consults the application's binding callback (sync and async)", async () => {
    const seen: [string, Uint8Array, number][] = [];
    const as = basicCredentialAuthenticator({
      validateIdentity: async (id, k, ctx) => {
        seen.push([new TextDecoder().decode(id), k, ctx.cipherSuite]);
        return k[0] === 7;
      },
    });
    await as.validateCredential(basic("carol@example.org"), new Uint8Array([7]), { cipherSuite: 3 });
    await expectRejected(() => as.validateCredential(basic("carol@example.org"), new Uint8Array([8]), CTX));
    expect(seen.map((s) => [s[0], s[1][0], s[2]])).toEqual([
      ["carol@example.org", 7, 3],
      ["carol@example.org", 8, 1],
    ]);
    const sync = basicCredentialAuthenticator({ allowedIdentities: ["dave@example.org"], validateIdentity: () => false });
    await expectRejected(() => sync.validateCredential(basic("dave@example.org"), key, CTX));
    // Without any policy every well-formed identity passes.
    basicCredentialAuthenticator().validateCredential(basic("anyone@example.org"), key, CTX);
  });

  it("isSameClient: same identity bytes, basic only", () => {
    const as = basicCredentialAuthenticator();
    expect(as.isSameClient(basic("a@x"), basic("a@x"))).toBe(true);
    expect(as.isSameClient(basic("a@x"), basic("b@x"))).toBe(false);
    expect(as.isSameClient(basic("a@x"), { credentialType: credentialTypes.x509, certificates: [] })).toBe(false);
    const bare = basicCredentialAuthenticator({ isSameClient: (a, b) => new TextDecoder().decode(a).split("/")[0] === new TextDecoder().decode(b).split("/")[0] });
    expect(bare.isSameClient(basic("a@x/phone"), basic("a@x/desk"))).toBe(true);
  });

  it("unsafeTestingAuthenticationService accepts anything; authenticationServiceByType dispatches", async () => {
    unsafeTestingAuthenticationService.validateCredential(basic(new Uint8Array([0xff])), key, CTX);
    expect(unsafeTestingAuthenticationService.identity(basic("z@x"))).toBe("z@x");
    expect(unsafeTestingAuthenticationService.isSameClient(basic("z@x"), basic("z@x"))).toBe(true);
    const byType: AuthenticationService = authenticationServiceByType({ [credentialTypes.basic]: basicCredentialAuthenticator({ allowedIdentities: ["a@x"] }) });
    byType.validateCredential(basic("a@x"), key, CTX);
    await expectRejected(() => byType.validateCredential(basic("b@x"), key, CTX));
    await expectRejected(() => byType.validateCredential({ credentialType: credentialTypes.x509, certificates: [new Uint8Array(1)] }, key, CTX));
    expect(byType.isSameClient(basic("a@x"), basic("a@x"))).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// X.509, certificates made with the openssl CLI.

type Algo = "ed25519" | "p256";
interface Pki {
  readonly root: string;
  readonly inter: string;
  readonly otherRoot: string;
  readonly leaf: Uint8Array;
  readonly interDer: Uint8Array;
  readonly rootDer: Uint8Array;
  readonly leafCnOnly: Uint8Array;
  readonly leafUri: Uint8Array;
  /** MLS signature key pair of `leaf` (and of the other leaves). */
  readonly sk: Uint8Array;
  readonly pk: Uint8Array;
}

let dir = "";
const pkis = new Map<Algo, Pki>();

function openssl(args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

function genKey(name: string, algo: Algo): void {
  if (algo === "ed25519") openssl(["genpkey", "-algorithm", "ed25519", "-out", `${name}.key`]);
  else openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", `${name}.key`]);
}

function selfSigned(name: string, algo: Algo, cn: string): void {
  genKey(name, algo);
  openssl(["req", "-x509", "-new", "-key", `${name}.key`, "-subj", `/CN=${cn}`, "-days", "2", "-out", `${name}.pem`,
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
}

let serial = 1;
function issue(name: string, issuer: string, subject: string, ext: string, keyFrom: string): void {
  writeFileSync(join(dir, `${name}.ext`), `${ext}\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n`);
  openssl(["req", "-new", "-key", `${keyFrom}.key`, "-subj", subject, "-out", `${name}.csr`]);
  openssl(["x509", "-req", "-in", `${name}.csr`, "-CA", `${issuer}.pem`, "-CAkey", `${issuer}.key`, "-set_serial", String(serial++),
    "-days", "2", "-extfile", `${name}.ext`, "-out", `${name}.pem`]);
}

const pem = (name: string): string => readFileSync(join(dir, `${name}.pem`), "utf8");
const der = (name: string): Uint8Array => {
  const b64 = pem(name).replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  return fromBase64(b64);
};

function makePki(algo: Algo): Pki {
  const p = algo;
  selfSigned(`${p}-root`, algo, "Test Root");
  selfSigned(`${p}-other`, algo, "Other Root");
  genKey(`${p}-inter`, algo);
  issue(`${p}-inter`, `${p}-root`, "/CN=Test Intermediate", "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign", `${p}-inter`);
  genKey(`${p}-leaf`, algo);
  const leafExt = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature";
  issue(`${p}-leaf`, `${p}-inter`, "/CN=Alice", `${leafExt}\nsubjectAltName=URI:https://example.org/alice,otherName:1.3.6.1.5.5.7.8.5;UTF8:alice@example.org`, `${p}-leaf`);
  issue(`${p}-leafcn`, `${p}-inter`, "/O=Example/CN=carol\\, the tester", leafExt, `${p}-leaf`);
  issue(`${p}-leafuri`, `${p}-inter`, "/CN=Bob", `${leafExt}\nsubjectAltName=email:bob@mail.example.org,URI:xmpp:bob@example.org?join`, `${p}-leaf`);

  const jwk = createPrivateKey(readFileSync(join(dir, `${p}-leaf.key`))).export({ format: "jwk" });
  const b64u = (s: string | undefined) => new Uint8Array(Buffer.from(s ?? "", "base64url"));
  const sk = b64u(jwk.d);
  const pk = algo === "ed25519" ? b64u(jwk.x) : new Uint8Array([4, ...b64u(jwk.x), ...b64u(jwk.y)]);
  return {
    root: pem(`${p}-root`),
    inter: pem(`${p}-inter`),
    otherRoot: pem(`${p}-other`),
    leaf: der(`${p}-leaf`),
    interDer: der(`${p}-inter`),
    rootDer: der(`${p}-root`),
    leafCnOnly: der(`${p}-leafcn`),
    leafUri: der(`${p}-leafuri`),
    sk,
    pk,
  };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "xmpp-mls-x509-"));
  for (const a of ["ed25519", "p256"] as const) pkis.set(a, makePki(a));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const x509 = (...certificates: Uint8Array[]): Credential => ({ credentialType: credentialTypes.x509, certificates });

for (const [algo, suite] of [["ed25519", 1], ["p256", 2]] as const) {
  describe(`x509CredentialAuthenticator (${algo}, suite ${suite})`, () => {
    const ctx = { cipherSuite: suite };
    const pki = (): Pki => pkis.get(algo)!;

    it("the openssl-made leaf key is the MLS signature key of the suite", () => {
      for (const p of PROVIDERS) expect(p.suite(suite).signaturePublicKey(pki().sk)).toEqual(pki().pk);
    });

    it("accepts a valid chain to a trust anchor", () => {
      const k = pki();
      const as = x509CredentialAuthenticator({ trustAnchors: [k.otherRoot, k.root] });
      as.validateCredential(x509(k.leaf, k.interDer), k.pk, ctx);
      as.validateCredential(x509(k.leaf, k.interDer, k.rootDer), k.pk, ctx);
      // An intermediate configured as anchor lets the chain omit it (RFC 9420 §5.3), DER anchors work.
      x509CredentialAuthenticator({ trustAnchors: [k.interDer] }).validateCredential(x509(k.leaf), k.pk, ctx);
    });

    it("rejects a wrong anchor, a missing intermediate, a bad order and garbage", async () => {
      const k = pki();
      const as = x509CredentialAuthenticator({ trustAnchors: [k.root] });
      await expectRejected(() => x509CredentialAuthenticator({ trustAnchors: [k.otherRoot] }).validateCredential(x509(k.leaf, k.interDer), k.pk, ctx));
      await expectRejected(() => as.validateCredential(x509(k.leaf), k.pk, ctx));
      await expectRejected(() => as.validateCredential(x509(k.interDer, k.leaf), k.pk, ctx));
      await expectRejected(() => as.validateCredential(x509(new Uint8Array([0x30, 0x03, 1, 2, 3])), k.pk, ctx));
      await expectRejected(() => as.validateCredential(x509(), k.pk, ctx));
      await expectRejected(() => as.validateCredential(basic("alice@example.org"), k.pk, ctx));
    });

    it("rejects expired and not-yet-valid certificates", async () => {
      const k = pki();
      const day = 86_400_000;
      const later = x509CredentialAuthenticator({ trustAnchors: [k.root], now: new Date(Date.now() + 5 * day) });
      const err = await expectRejected(() => later.validateCredential(x509(k.leaf, k.interDer), k.pk, ctx));
      expect(err.message).toMatch(/validity/);
      const earlier = x509CredentialAuthenticator({ trustAnchors: [k.root], now: () => new Date(Date.now() - 5 * day) });
      await expectRejected(() => earlier.validateCredential(x509(k.leaf, k.interDer), k.pk, ctx));
      // Without its own clock the AS uses the context's `now` (seconds).
      const ctxClock = x509CredentialAuthenticator({ trustAnchors: [k.root] });
      await expectRejected(() => ctxClock.validateCredential(x509(k.leaf, k.interDer), k.pk, { ...ctx, now: Math.floor(Date.now() / 1000) + 5 * 86400 }));
      ctxClock.validateCredential(x509(k.leaf, k.interDer), k.pk, { ...ctx, now: Math.floor(Date.now() / 1000) });
    });

    it("rejects a signature key that is not the certificate's, or a suite of another algorithm", async () => {
      const k = pki();
      const as = x509CredentialAuthenticator({ trustAnchors: [k.root] });
      const otherKey = PROVIDERS[1]!.suite(suite).signatureKeyPair().publicKey;
      const err = await expectRejected(() => as.validateCredential(x509(k.leaf, k.interDer), otherKey, ctx));
      expect(err.message).toMatch(/signature_key/);
      const otherSuite = suite === 1 ? 2 : 1;
      await expectRejected(() => as.validateCredential(x509(k.leaf, k.interDer), k.pk, { cipherSuite: otherSuite }));
    });

    it("identity rule: XmppAddr, then xmpp: URI, then CN; isSameClient compares identities", () => {
      const k = pki();
      const as = x509CredentialAuthenticator({ trustAnchors: [k.root] });
      expect(as.identity(x509(k.leaf, k.interDer))).toBe("alice@example.org");
      expect(as.identity(x509(k.leafUri))).toBe("bob@example.org");
      expect(as.identity(x509(k.leafCnOnly))).toBe("carol, the tester");
      expect(as.isSameClient(x509(k.leaf), x509(k.leaf, k.interDer))).toBe(true);
      expect(as.isSameClient(x509(k.leaf), x509(k.leafUri))).toBe(false);
      expect(as.isSameClient(x509(k.leaf), basic("alice@example.org"))).toBe(false);
    });

    it("end to end: KeyPackage with an X.509 credential", async () => {
      const k = pki();
      for (const p of PROVIDERS) {
        const cs = p.suite(suite);
        const made = await createKeyPackage({ cs, credential: x509(k.leaf, k.interDer), signaturePrivateKey: k.sk });
        expect(made.keyPackage.leafNode.signatureKey).toEqual(k.pk);
        await validateKeyPackage(cs, made.keyPackage, { authService: x509CredentialAuthenticator({ trustAnchors: [k.root] }) });
        const err = await validateKeyPackage(cs, made.keyPackage, { authService: x509CredentialAuthenticator({ trustAnchors: [k.otherRoot] }) }).then(
          () => null,
          (e: unknown) => e,
        );
        expect((err as ValidationError).code).toBe("valid.credential_rejected");
        // A package signed with another key cannot borrow the certificate.
        const thief = await createKeyPackage({ cs, credential: x509(k.leaf, k.interDer) });
        const err2 = await validateKeyPackage(cs, thief.keyPackage, { authService: x509CredentialAuthenticator({ trustAnchors: [k.root] }) }).then(
          () => null,
          (e: unknown) => e,
        );
        expect((err2 as ValidationError).code).toBe("valid.credential_rejected");
      }
    });
  });
}

describe("parseSubjectAltName", () => {
  it("splits Node's text form, including quoted values and otherName", () => {
    expect(parseSubjectAltName('DNS:a.example, URI:"xmpp:x,y@example.org", othername:XmppAddr:j@example.org, email:e@example.org')).toEqual([
      ["DNS", "a.example"],
      ["URI", "xmpp:x,y@example.org"],
      ["othername:XmppAddr", "j@example.org"],
      ["email", "e@example.org"],
    ]);
    expect(parseSubjectAltName(undefined)).toEqual([]);
  });
});
