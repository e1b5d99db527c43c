// Who may call which RPC. Every caller process (the edge, the orchestrator, the CLI) holds an
// Ed25519 private key and sends a short-lived signed service token (a JWT, EdDSA) in
// `authorization: Bearer …` on every call; every gRPC server holds the callers' public keys and
// a declarative policy (the service's rpc-policy.json: RPC → callers). The server interceptor
// below answers UNAUTHENTICATED when the token is missing or bad, PERMISSION_DENIED when a known
// caller calls an RPC the policy does not give it. grpc.health.v1 stays open (probes carry no
// token); reflection needs a valid token of any trusted caller.
//
// Token claims: iss = kid = the caller's name, aud = the full name of the proto service called
// (e.g. haiersync.catalog.v1.CatalogService), iat, exp = 5 minutes later. A client signs once per
// target service and reuses the token until a minute before it expires; a server verifies a
// given token once and remembers the answer until it expires.
import { generateKeyPairSync, type KeyObject, createPrivateKey, createPublicKey } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DescService } from '@bufbuild/protobuf';
import type { Interceptor } from '@connectrpc/connect';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { ConfigError } from './config';
import { permissionDenied, unauthenticated } from './errors';

/** The variable naming this process's private key (PEM, PKCS#8, Ed25519). */
export const PRIVATE_KEY_FILE_VAR = 'SERVICE_AUTH_PRIVATE_KEY_FILE';
/** The variable naming the directory of trusted callers' public keys, one `<caller>.pub.pem` each. */
export const TRUSTED_KEYS_DIR_VAR = 'SERVICE_AUTH_TRUSTED_KEYS_DIR';

/** The callers of this system, by the name their tokens carry (iss) and policies use. */
export const CALLERS = { edge: 'http-edge', orchestrator: 'sync-orchestrator', cli: 'cli' } as const;

const HEALTH_SERVICE = 'grpc.health.v1.Health';
const REFLECTION_SERVICES = new Set(['grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection']);
const TOKEN_TTL_S = 300;
/** A client signs a new token when its cached one has less than this left. */
const REFRESH_BEFORE_S = 60;
/** Accepted clock difference between caller and server. */
const CLOCK_TOLERANCE_S = 30;
const CALLER_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const SEE = 'see README, Service authentication';

// ---------------------------------------------------------------------------------------
// Caller side

/** Signs this process's service tokens (cached per audience). */
export interface ServiceCredentials {
  readonly caller: string;
  /** A token for calls to the proto service `audience` (its full name). */
  token(audience: string): Promise<string>;
}

export function serviceCredentials(caller: string, privateKey: KeyObject | string | Buffer): ServiceCredentials {
  if (!CALLER_NAME.test(caller)) throw new Error(`service caller name ${JSON.stringify(caller)} must be lower-case letters, digits and dashes`);
  const key = typeof privateKey === 'string' || Buffer.isBuffer(privateKey) ? createPrivateKey(privateKey) : privateKey;
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`the service key of ${caller} is ${key.asymmetricKeyType ?? 'not a private key'}; an Ed25519 key is needed`);
  const cache = new Map<string, { exp: number; token: Promise<string> }>();
  return {
    caller,
    token(audience) {
      const now = Math.floor(Date.now() / 1000);
      const hit = cache.get(audience);
      if (hit && hit.exp - now > REFRESH_BEFORE_S) return hit.token;
      const exp = now + TOKEN_TTL_S;
      const token = new SignJWT({})
        .setProtectedHeader({ alg: 'EdDSA', kid: caller, typ: 'JWT' })
        .setIssuer(caller)
        .setAudience(audience)
        .setIssuedAt(now)
        .setExpirationTime(exp)
        .sign(key);
      cache.set(audience, { exp, token });
      token.catch(() => cache.delete(audience));
      return token;
    },
  };
}

/** This process's credentials from SERVICE_AUTH_PRIVATE_KEY_FILE; a missing or unreadable key is a ConfigError saying what to do. */
export function loadServiceCredentials(caller: string, env: NodeJS.ProcessEnv = process.env): ServiceCredentials {
  const file = env[PRIVATE_KEY_FILE_VAR]?.trim();
  if (!file) {
    throw new ConfigError(
      `Invalid configuration: ${PRIVATE_KEY_FILE_VAR} is required: ${caller} signs its calls to the other services with an Ed25519 private key (PEM). ` +
        `\`npm start\` creates one under .data/service-auth/; elsewhere mount the ${caller} key and set ${PRIVATE_KEY_FILE_VAR} to its path (${SEE}).`,
      [PRIVATE_KEY_FILE_VAR],
    );
  }
  try {
    return serviceCredentials(caller, readFileSync(file));
  } catch (err) {
    throw new ConfigError(`Invalid configuration: ${PRIVATE_KEY_FILE_VAR}: cannot use ${file} as the ${caller} service key (${(err as Error).message}); point it at an Ed25519 private key in PEM (${SEE}).`, [PRIVATE_KEY_FILE_VAR]);
  }
}

/** Adds `authorization: Bearer <token>` for the called service to every request. */
export function signingInterceptor(credentials: ServiceCredentials): Interceptor {
  return (next) => async (req) => {
    req.header.set('authorization', `Bearer ${await credentials.token(req.service.typeName)}`);
    return next(req);
  };
}

// ---------------------------------------------------------------------------------------
// Server side

/** The public keys of the callers a server trusts. */
export interface TrustedCallers {
  readonly callers: readonly string[];
  /** The caller a valid token for `audience` (or any one of a list) names; throws an Error saying why otherwise. */
  verify(token: string, audience: string | readonly string[]): Promise<string>;
}

function reason(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'it has expired (check that the caller and this server agree on the time)';
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `its "${err.claim}" claim is not acceptable (${err.reason})`;
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'its signature does not match the caller key this service trusts';
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'it is not signed with EdDSA';
  if (err instanceof joseErrors.JOSEError) return `it is not a valid service token (${err.message})`;
  return (err as Error).message;
}

export function trustedCallers(keys: Readonly<Record<string, KeyObject | string | Buffer>>): TrustedCallers {
  const byName = new Map<string, KeyObject>();
  for (const [name, k] of Object.entries(keys)) {
    const key = typeof k === 'string' || Buffer.isBuffer(k) ? createPublicKey(k) : k;
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`the trusted key of ${name} is ${key.asymmetricKeyType}; an Ed25519 public key is needed`);
    byName.set(name, key);
  }
  // a token is verified once; later calls with it only compare the audience and the expiry
  const verified = new Map<string, { caller: string; audience: readonly string[]; exp: number }>();
  return {
    callers: [...byName.keys()],
    async verify(token, audience) {
      const wanted = typeof audience === 'string' ? [audience] : audience;
      const now = Date.now() / 1000;
      const hit = verified.get(token);
      if (hit && hit.exp + CLOCK_TOLERANCE_S > now) {
        if (!hit.audience.some((a) => wanted.includes(a))) throw new Error(`its "aud" claim is not acceptable (it was issued for ${hit.audience.join(', ')}, not ${wanted.join(' or ')})`);
        return hit.caller;
      }
      let kid: string | undefined;
      const { payload } = await jwtVerify(
        token,
        (header) => {
          kid = header.kid;
          const key = kid === undefined ? undefined : byName.get(kid);
          if (!key) throw new Error(kid === undefined ? 'it names no caller (kid)' : `caller ${JSON.stringify(kid.slice(0, 64))} is not one this service trusts (no ${kid.slice(0, 64)}.pub.pem among its trusted keys)`);
          return key;
        },
        { algorithms: ['EdDSA'], audience: [...wanted], clockTolerance: CLOCK_TOLERANCE_S, maxTokenAge: TOKEN_TTL_S + CLOCK_TOLERANCE_S, requiredClaims: ['iss', 'aud', 'exp', 'iat'] },
      ).catch((err: unknown) => {
        throw new Error(reason(err));
      });
      if (payload.iss !== kid) throw new Error(`its issuer ${JSON.stringify(payload.iss)} is not the caller whose key signed it`);
      if (verified.size >= 10_000) verified.clear();
      verified.set(token, { caller: kid!, audience: typeof payload.aud === 'string' ? [payload.aud] : (payload.aud ?? []), exp: payload.exp! });
      return kid!;
    },
  };
}

/** The public keys `<caller>.pub.pem` in SERVICE_AUTH_TRUSTED_KEYS_DIR (a ConfigError when unset, unreadable or empty). */
export function loadTrustedCallers(env: NodeJS.ProcessEnv = process.env): TrustedCallers {
  const dir = env[TRUSTED_KEYS_DIR_VAR]?.trim();
  if (!dir) {
    throw new ConfigError(
      `Invalid configuration: ${TRUSTED_KEYS_DIR_VAR} is required: this service answers only callers whose public keys it holds, one <caller>.pub.pem per caller in that directory. ` +
        `\`npm start\` creates them under .data/service-auth/trusted; elsewhere mount them and set ${TRUSTED_KEYS_DIR_VAR} (${SEE}).`,
      [TRUSTED_KEYS_DIR_VAR],
    );
  }
  try {
    const keys: Record<string, Buffer> = {};
    for (const f of readdirSync(dir)) {
      const m = /^([a-z0-9][a-z0-9-]*)\.pub\.pem$/.exec(f);
      if (m) keys[m[1]!] = readFileSync(join(dir, f));
    }
    if (Object.keys(keys).length === 0) throw new Error('it holds no <caller>.pub.pem file');
    return trustedCallers(keys);
  } catch (err) {
    throw new ConfigError(`Invalid configuration: ${TRUSTED_KEYS_DIR_VAR}: cannot read trusted caller keys from ${dir} (${(err as Error).message}); put each caller's Ed25519 public key there as <caller>.pub.pem (${SEE}).`, [TRUSTED_KEYS_DIR_VAR]);
  }
}

/** RPC ("package.Service/Method") → the callers allowed to call it. */
export type RpcPolicy = ReadonlyMap<string, ReadonlySet<string>>;

/**
 * Checks a policy table ({ "<package.Service>": { "<Method>": ["caller", …] } }) against the
 * services a server offers: every RPC needs a rule (an empty list = nobody), a rule for an RPC
 * the server does not have is an error (a typo would otherwise leave the real one without a rule).
 */
export function rpcPolicy(table: unknown, services: readonly DescService[], source = 'the RPC policy'): RpcPolicy {
  const problems: string[] = [];
  const out = new Map<string, ReadonlySet<string>>();
  const t = (table && typeof table === 'object' ? table : {}) as Record<string, unknown>;
  const served = new Map(services.map((s) => [s.typeName, s]));
  for (const [svcName, rules] of Object.entries(t)) {
    if (svcName.startsWith('$')) continue; // "$comment"
    const svc = served.get(svcName);
    if (!svc) {
      problems.push(`${svcName} is not a service this server offers`);
      continue;
    }
    for (const [method, callers] of Object.entries((rules ?? {}) as Record<string, unknown>)) {
      if (method.startsWith('$')) continue;
      if (!svc.methods.some((m) => m.name === method)) problems.push(`${svcName}/${method} is not an RPC of ${svcName}`);
      else if (!Array.isArray(callers) || !callers.every((c) => typeof c === 'string' && CALLER_NAME.test(c))) problems.push(`${svcName}/${method} must list caller names`);
      else out.set(`${svcName}/${method}`, new Set(callers as string[]));
    }
  }
  for (const svc of services) for (const m of svc.methods) if (!out.has(`${svc.typeName}/${m.name}`)) problems.push(`${svc.typeName}/${m.name} has no rule (list its callers, or [] for nobody)`);
  if (problems.length) throw new Error(`${source}: ${problems.join('; ')}`);
  return out;
}

/** rpcPolicy() of a JSON file. */
export function loadRpcPolicy(file: string, services: readonly DescService[]): RpcPolicy {
  return rpcPolicy(JSON.parse(readFileSync(file, 'utf8')), services, file);
}

export interface ServerAuth {
  trusted: TrustedCallers;
  policy: RpcPolicy;
}

/**
 * UNAUTHENTICATED without a valid service token, PERMISSION_DENIED when the policy does not give
 * the RPC to the caller. Reflection takes a valid token of any trusted caller, for reflection or
 * for any service of the server.
 */
export function authInterceptor(auth: ServerAuth): Interceptor {
  // reflection describes the whole server: a token for any service it serves will do (so one
  // `authorization` header serves buf curl's reflection and its call alike)
  const served = [...new Set([...auth.policy.keys()].map((rpc) => rpc.slice(0, rpc.lastIndexOf('/'))))];
  return (next) => async (req) => {
    const svc = req.service.typeName;
    if (svc === HEALTH_SERVICE) return next(req);
    const rpc = `${svc}/${req.method.name}`;
    const header = req.header.get('authorization');
    if (!header) {
      throw unauthenticated(`${rpc} needs a service token: send "authorization: Bearer <token>", a JWT signed (EdDSA) with a caller key this service trusts, audience "${svc}" (${SEE})`);
    }
    const m = /^Bearer +([A-Za-z0-9_\-.]+)$/.exec(header);
    if (!m) throw unauthenticated(`the authorization header of ${rpc} is not "Bearer <token>"; send a service token (${SEE})`);
    let caller: string;
    try {
      caller = await auth.trusted.verify(m[1]!, REFLECTION_SERVICES.has(svc) ? [svc, ...served] : svc);
    } catch (err) {
      throw unauthenticated(`the service token sent to ${rpc} was refused: ${(err as Error).message}; sign it with a caller key this service trusts (${SEE})`);
    }
    if (REFLECTION_SERVICES.has(svc)) return next(req);
    const allowed = auth.policy.get(rpc);
    if (!allowed?.has(caller)) {
      const who = allowed && allowed.size ? `only ${[...allowed].join(', ')} may` : 'no caller may';
      throw permissionDenied(`caller "${caller}" may not call ${rpc}: ${who} (the service's rpc-policy.json)`);
    }
    return next(req);
  };
}

// ---------------------------------------------------------------------------------------
// Key material

export interface ServiceKeyFiles {
  /** <dir>/<caller>.key.pem for each caller. */
  privateKeyFile: Record<string, string>;
  /** <dir>/trusted, holding <caller>.pub.pem for each caller. */
  trustedDir: string;
}

/**
 * An Ed25519 key pair per caller under `dir` (private keys mode 0600, public keys in
 * dir/trusted); keys already there are kept. `npm start` and the tests use it.
 */
export function ensureServiceKeys(dir: string, callers: readonly string[]): ServiceKeyFiles {
  const trustedDir = join(dir, 'trusted');
  mkdirSync(trustedDir, { recursive: true, mode: 0o700 });
  const privateKeyFile: Record<string, string> = {};
  for (const caller of callers) {
    const keyFile = join(dir, `${caller}.key.pem`);
    const pubFile = join(trustedDir, `${caller}.pub.pem`);
    if (!existsSync(keyFile)) {
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
      writeFileSync(pubFile, publicKey.export({ type: 'spki', format: 'pem' }));
    } else if (!existsSync(pubFile)) {
      writeFileSync(pubFile, createPublicKey(readFileSync(keyFile)).export({ type: 'spki', format: 'pem' }));
    }
    chmodSync(keyFile, 0o600);
    privateKeyFile[caller] = keyFile;
  }
  return { privateKeyFile, trustedDir };
}

/** A server's authentication from the environment (SERVICE_AUTH_TRUSTED_KEYS_DIR) and its policy file. */
export function loadServerAuth(policyFile: string, services: readonly DescService[], env: NodeJS.ProcessEnv = process.env): ServerAuth {
  return { trusted: loadTrustedCallers(env), policy: loadRpcPolicy(policyFile, services) };
}
