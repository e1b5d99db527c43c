import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { Code, ConnectError } from '@connectrpc/connect';
import { create, fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { gateway, health, reflection } from '@haier-sync/contracts';
import { closeGrpcClients, createGrpcClient, createLogger, FIELD_HEADER, invalidArgument, LIVENESS_SERVICE, notFound, REDACTED, registerSecret, startGrpcServer, type GrpcServer } from '../src/index';
import { captureLogs } from '../src/testing';

const { HealthCheckResponse_ServingStatus: Status } = health;
const REPO = join(__dirname, '..', '..', '..');
const run = promisify(execFile);

describe('gRPC server: health', () => {
  let server: GrpcServer;
  let ready = true;
  const logs = captureLogs();

  beforeAll(async () => {
    server = await startGrpcServer({
      service: 'test',
      port: 0,
      host: '127.0.0.1',
      logger: createLogger('test', { level: 'debug', destination: logs.stream }),
      readiness: () => ready,
      routes: (router) => router.service(gateway.HaierGatewayService, { getUsage: () => ({ totalCalls: 7n }) }),
    });
  });
  afterAll(async () => {
    closeGrpcClients();
    await server.close(1000);
  });
  beforeEach(() => {
    ready = true;
  });

  it('answers Check with SERVING for the whole server and for a hosted service', async () => {
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    const client = createGrpcClient(health.Health, { baseUrl: server.url });
    expect((await client.check({})).status).toBe(Status.SERVING);
    expect((await client.check({ service: 'haiersync.gateway.v1.HaierGatewayService' })).status).toBe(Status.SERVING);
    // the test service itself works through the same server
    const gw = createGrpcClient(gateway.HaierGatewayService, { baseUrl: server.url });
    expect((await gw.getUsage({})).totalCalls).toBe(7n);
  });

  it('reports NOT_SERVING while readiness answers false (or throws); liveness stays SERVING', async () => {
    const client = createGrpcClient(health.Health, { baseUrl: server.url });
    ready = false;
    expect((await client.check({})).status).toBe(Status.NOT_SERVING);
    // liveness does not ask readiness: the process runs
    expect((await client.check({ service: LIVENESS_SERVICE })).status).toBe(Status.SERVING);
    ready = true;
    expect((await client.check({})).status).toBe(Status.SERVING);
  });

  it('answers NOT_FOUND for an unknown service name', async () => {
    const client = createGrpcClient(health.Health, { baseUrl: server.url });
    await expect(client.check({ service: 'no.such.Service' })).rejects.toMatchObject({ code: Code.NotFound });
  });

  it('logs one line per RPC (debug) and failures at warn with code and message', () => {
    const lines = logs.lines();
    expect(lines).toContainEqual(expect.objectContaining({ level: 'debug', rpc: 'grpc.health.v1.Health/Check', code: 'OK', duration_ms: expect.any(Number) }));
    expect(lines).toContainEqual(
      expect.objectContaining({ level: 'warn', rpc: 'grpc.health.v1.Health/Check', code: 'NOT_FOUND', msg: expect.stringContaining('unknown service "no.such.Service"') }),
    );
  });

  it('streams status changes on Watch', async () => {
    const client = createGrpcClient(health.Health, { baseUrl: server.url });
    const ac = new AbortController();
    const seen: number[] = [];
    try {
      for await (const res of client.watch({}, { signal: ac.signal })) {
        seen.push(res.status);
        if (seen.length === 1) ready = false; // picked up by the next re-check (every second)
        if (seen.length === 2) ready = true;
        if (seen.length === 3) break;
      }
    } finally {
      ac.abort();
    }
    expect(seen).toEqual([Status.SERVING, Status.NOT_SERVING, Status.SERVING]);
  });

  it('Watch of an unknown service streams SERVICE_UNKNOWN', async () => {
    const client = createGrpcClient(health.Health, { baseUrl: server.url });
    const ac = new AbortController();
    let first: number | undefined;
    for await (const res of client.watch({ service: 'no.such.Service' }, { signal: ac.signal })) {
      first = res.status;
      break;
    }
    ac.abort();
    expect(first).toBe(Status.SERVICE_UNKNOWN);
  });

  it('can be called by a plain @grpc/grpc-js client', async () => {
    const def = protoLoader.loadSync(join(REPO, 'proto/grpc/health/v1/health.proto'), { enums: String });
    const pkg = grpc.loadPackageDefinition(def) as any;
    const client = new pkg.grpc.health.v1.Health(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
    try {
      const res = await new Promise<{ status: string }>((resolve, reject) =>
        client.Check({ service: '' }, { deadline: Date.now() + 5000 }, (err: Error | null, r: { status: string }) => (err ? reject(err) : resolve(r))),
      );
      expect(res.status).toBe('SERVING');
      const err = await new Promise<grpc.ServiceError>((resolve) => client.Check({ service: 'nope' }, (e: grpc.ServiceError) => resolve(e)));
      expect(err.code).toBe(grpc.status.NOT_FOUND);
    } finally {
      client.close();
    }
  });

  it('offers server reflection: buf curl lists the services and calls one with no local schema', async () => {
    const buf = join(REPO, 'node_modules/.bin/buf');
    const base = ['curl', '--protocol', 'grpc', '--http2-prior-knowledge'];
    const listed = await run(buf, [...base, '--list-services', server.url], { timeout: 30_000 });
    expect(listed.stdout.trim().split('\n').sort()).toEqual([
      'grpc.health.v1.Health',
      'grpc.reflection.v1.ServerReflection',
      'grpc.reflection.v1alpha.ServerReflection',
      'haiersync.gateway.v1.HaierGatewayService',
    ]);
    const methods = await run(buf, [...base, '--list-methods', server.url], { timeout: 30_000 });
    expect(methods.stdout).toContain('haiersync.gateway.v1.HaierGatewayService/GetPrices');
    const usage = await run(buf, [...base, `${server.url}/haiersync.gateway.v1.HaierGatewayService/GetUsage`], { timeout: 30_000 });
    expect(JSON.parse(usage.stdout)).toEqual({ totalCalls: '7' });
    // the same through the older protocol name, which some tools still ask for
    const old = await run(buf, [...base, '--reflect-protocol', 'grpc-v1alpha', `${server.url}/haiersync.gateway.v1.HaierGatewayService/GetUsage`], { timeout: 30_000 });
    expect(JSON.parse(old.stdout)).toEqual({ totalCalls: '7' });
  });

  it('answers reflection requests it cannot serve with an error response, and goes on', async () => {
    const client = createGrpcClient(reflection.ServerReflection, { baseUrl: server.url });
    async function* requests() {
      yield create(reflection.ServerReflectionRequestSchema, { messageRequest: { case: 'fileContainingSymbol', value: 'no.such.Thing' } });
      yield create(reflection.ServerReflectionRequestSchema, { messageRequest: { case: 'fileByFilename', value: 'haiersync/gateway/v1/gateway.proto' } });
    }
    const answers: reflection.ServerReflectionResponse[] = [];
    for await (const a of client.serverReflectionInfo(requests(), { timeoutMs: 10_000 })) answers.push(a);
    expect(answers[0]?.messageResponse).toMatchObject({ case: 'errorResponse', value: { errorCode: Code.NotFound } });
    const files = answers[1]?.messageResponse.case === 'fileDescriptorResponse' ? answers[1].messageResponse.value.fileDescriptorProto : [];
    // the file first, then what it imports
    expect(files.map((b) => fromBinary(FileDescriptorProtoSchema, b).name).sort()).toEqual(['google/protobuf/struct.proto', 'google/protobuf/timestamp.proto', 'haiersync/gateway/v1/gateway.proto']);
    expect(fromBinary(FileDescriptorProtoSchema, files[0]!).name).toBe('haiersync/gateway/v1/gateway.proto');
  });

  it('can be called by buf curl over gRPC', async () => {
    const { stdout } = await run(
      join(REPO, 'node_modules/.bin/buf'),
      ['curl', '--schema', join(REPO, 'proto'), '--protocol', 'grpc', '--http2-prior-knowledge', `${server.url}/grpc.health.v1.Health/Check`],
      { timeout: 30_000 },
    );
    expect(JSON.parse(stdout)).toEqual({ status: 'SERVING' });
  });
});

describe('gRPC server: graceful close', () => {
  it('lets an in-flight call finish while closing, then refuses new calls', async () => {
    let release!: () => void;
    let started!: () => void;
    const inFlight = new Promise<void>((r) => (started = r));
    const server = await startGrpcServer({
      service: 'slow',
      port: 0,
      host: '127.0.0.1',
      logger: createLogger('slow', { level: 'silent' }),
      routes: (router) =>
        router.service(gateway.HaierGatewayService, {
          async getUsage() {
            started();
            await new Promise<void>((r) => (release = r));
            return { totalCalls: 42n };
          },
        }),
    });
    const client = createGrpcClient(gateway.HaierGatewayService, { baseUrl: server.url, timeoutMs: 10_000 });
    const h = createGrpcClient(health.Health, { baseUrl: server.url });
    try {
      const call = client.getUsage({});
      await inFlight;
      let closed = false;
      const closing = server.close(10_000).then(() => (closed = true));
      await new Promise((r) => setTimeout(r, 200));
      expect(closed).toBe(false); // still waiting for the in-flight call
      release();
      expect((await call).totalCalls).toBe(42n);
      await closing;
      expect(closed).toBe(true);
      const err = await h.check({}).then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
      expect(err?.code).toBe(Code.Unavailable);
      expect(err?.rawMessage).toMatch(/cannot reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\); check that the service is running/);
    } finally {
      closeGrpcClients();
      await server.close(100);
    }
  });

  it('destroys calls still running when the grace period ends', async () => {
    const server = await startGrpcServer({
      service: 'stuck',
      port: 0,
      host: '127.0.0.1',
      logger: createLogger('stuck', { level: 'silent' }),
      routes: (router) =>
        router.service(gateway.HaierGatewayService, {
          getUsage: (_req, ctx) => new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))),
        }),
    });
    const client = createGrpcClient(gateway.HaierGatewayService, { baseUrl: server.url });
    try {
      const call = client.getUsage({}).then(
        () => 'answered',
        () => 'failed',
      );
      await new Promise((r) => setTimeout(r, 100));
      const t0 = Date.now();
      await server.close(300);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
      expect(await call).toBe('failed');
    } finally {
      closeGrpcClients();
    }
  });
});

describe('gRPC server: one error interceptor', () => {
  class NoSuchThing extends Error {}
  let server: GrpcServer;
  const logs = captureLogs();
  registerSecret('s3cr3t-value-for-errors');

  beforeAll(async () => {
    server = await startGrpcServer({
      service: 'mapper',
      port: 0,
      host: '127.0.0.1',
      logger: createLogger('mapper', { level: 'debug', destination: logs.stream }),
      errors: (err, method) => (err instanceof NoSuchThing ? notFound(`${method.name}: ${err.message}`) : undefined),
      connectionLost: 'the test database is unreachable; check DATABASE_URL',
      routes: (router) =>
        router.service(gateway.HaierGatewayService, {
          getUsage: () => {
            throw new NoSuchThing('no such thing');
          },
          getBalance: () => {
            throw new Error('internal detail with s3cr3t-value-for-errors');
          },
          getLogistics: () => {
            throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
          },
          getStock: () => {
            throw invalidArgument('must be 6 digits, got s3cr3t-value-for-errors', 'county_code');
          },
          async *streamAllProducts() {
            yield { seen: 1n };
            throw new NoSuchThing('gone mid-stream');
          },
        }),
    });
  });
  afterAll(async () => {
    closeGrpcClients();
    await server.close(1000);
  });

  const failure = (p: Promise<unknown>): Promise<ConnectError> =>
    p.then(
      () => {
        throw new Error('the call succeeded');
      },
      (e: unknown) => ConnectError.from(e),
    );

  it("maps the service's domain errors with its mapper, on unary calls and mid-stream", async () => {
    const client = createGrpcClient(gateway.HaierGatewayService, { baseUrl: server.url });
    const unary = await failure(client.getUsage({}));
    expect([unary.code, unary.rawMessage]).toEqual([Code.NotFound, 'GetUsage: no such thing']);
    const seen: bigint[] = [];
    const streamed = await failure(
      (async () => {
        for await (const m of client.streamAllProducts({})) seen.push(m.seen);
      })(),
    );
    expect(seen).toEqual([1n]);
    expect([streamed.code, streamed.rawMessage]).toEqual([Code.NotFound, 'StreamAllProducts: gone mid-stream']);
  });

  it('answers anything unmapped as INTERNAL without internals, logging it; a lost connection is UNAVAILABLE', async () => {
    const client = createGrpcClient(gateway.HaierGatewayService, { baseUrl: server.url });
    const internalErr = await failure(client.getBalance({}));
    expect([internalErr.code, internalErr.rawMessage]).toEqual([Code.Internal, 'mapper GetBalance failed unexpectedly; see the mapper service log']);
    expect(logs.lines()).toContainEqual(expect.objectContaining({ level: 'error', rpc: 'haiersync.gateway.v1.HaierGatewayService/GetBalance', msg: expect.stringContaining('failed unexpectedly') }));
    const down = await failure(client.getLogistics({ orderCode: 'X' }));
    expect([down.code, down.rawMessage]).toEqual([Code.Unavailable, 'the test database is unreachable; check DATABASE_URL']);
  });

  it('passes ConnectErrors through with their code and field, secrets redacted', async () => {
    const client = createGrpcClient(gateway.HaierGatewayService, { baseUrl: server.url });
    const bad = await failure(client.getStock({ productCode: 'A', countyCode: '110101' }));
    expect(bad.code).toBe(Code.InvalidArgument);
    expect(bad.rawMessage).toBe(`county_code: must be 6 digits, got ${REDACTED}`);
    expect(bad.metadata.get(FIELD_HEADER)).toBe('county_code');
    expect(logs.text()).not.toContain('s3cr3t-value-for-errors');
  });
});
