// gRPC server reflection (grpc.reflection.v1, and v1alpha) for a Connect router: lists the services the
// server offers and hands out their schemas (the FileDescriptorProtos compiled into the
// generated code, with their dependencies), so grpcurl, buf curl and grpcui need no local
// copy of proto/. Connect for Node has no reflection of its own (connectrpc/connect-es#507).
import { create, fromBinary, toBinary, type DescFile, type DescService } from '@bufbuild/protobuf';
import { nestedTypes } from '@bufbuild/protobuf/reflect';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { Code, type ConnectRouter } from '@connectrpc/connect';
import { reflection, reflectionV1alpha } from '@haier-sync/contracts';

type Request = reflection.ServerReflectionRequest;
type Response = reflection.ServerReflectionResponse;

/** The files of `services` and everything they import, indexed by file name and by symbol. */
class SchemaIndex {
  readonly byName = new Map<string, DescFile>();
  readonly bySymbol = new Map<string, DescFile>();

  constructor(readonly services: readonly DescService[]) {
    for (const s of services) this.add(s.file);
  }

  private add(file: DescFile): void {
    if (this.byName.has(file.proto.name)) return;
    this.byName.set(file.proto.name, file);
    for (const t of nestedTypes(file)) {
      this.bySymbol.set(t.typeName, file);
      if (t.kind === 'service') for (const m of t.methods) this.bySymbol.set(`${t.typeName}.${m.name}`, file);
    }
    for (const d of file.dependencies) this.add(d);
  }

  /** The file and its transitive imports, serialized, the file first. */
  withImports(file: DescFile): Uint8Array[] {
    const out: DescFile[] = [];
    const seen = new Set<string>();
    const walk = (f: DescFile): void => {
      if (seen.has(f.proto.name)) return;
      seen.add(f.proto.name);
      out.push(f);
      for (const d of f.dependencies) walk(d);
    };
    walk(file);
    return out.map((f) => toBinary(FileDescriptorProtoSchema, f.proto));
  }
}

function answer(index: SchemaIndex, req: Request): Response {
  const base = { validHost: req.host, originalRequest: req };
  const files = (file: DescFile | undefined, what: string): Response =>
    file
      ? create(reflection.ServerReflectionResponseSchema, { ...base, messageResponse: { case: 'fileDescriptorResponse', value: { fileDescriptorProto: index.withImports(file) } } })
      : error(Code.NotFound, `${what} is not known to this server; list its services with list_services`);
  const error = (code: Code, message: string): Response =>
    create(reflection.ServerReflectionResponseSchema, { ...base, messageResponse: { case: 'errorResponse', value: { errorCode: code, errorMessage: message } } });

  const r = req.messageRequest;
  switch (r.case) {
    case 'listServices':
      return create(reflection.ServerReflectionResponseSchema, {
        ...base,
        messageResponse: { case: 'listServicesResponse', value: { service: [...new Set(index.services.map((s) => s.typeName))].map((name) => ({ name })) } },
      });
    case 'fileByFilename':
      return files(index.byName.get(r.value), `file ${JSON.stringify(r.value)}`);
    case 'fileContainingSymbol':
      return files(index.bySymbol.get(r.value.replace(/^\./, '')), `symbol ${JSON.stringify(r.value)}`);
    case 'allExtensionNumbersOfType':
      // no contract here declares extensions: an empty list for a known message type
      return index.bySymbol.has(r.value)
        ? create(reflection.ServerReflectionResponseSchema, { ...base, messageResponse: { case: 'allExtensionNumbersResponse', value: { baseTypeName: r.value, extensionNumber: [] } } })
        : error(Code.NotFound, `type ${JSON.stringify(r.value)} is not known to this server`);
    case 'fileContainingExtension':
      return error(Code.NotFound, `no extension ${r.value.extensionNumber} of ${r.value.containingType} is known to this server`);
    default:
      return error(Code.InvalidArgument, 'the request names none of list_services, file_by_filename, file_containing_symbol, all_extension_numbers_of_type, file_containing_extension');
  }
}

/**
 * Serves grpc.reflection.v1, and its older wire-identical name v1alpha, for the services
 * `services()` answers once the router is complete.
 */
export function registerReflection(router: ConnectRouter, services: () => readonly DescService[]): void {
  let built: SchemaIndex | undefined;
  const index = (): SchemaIndex => (built ??= new SchemaIndex(services()));
  router.service(reflection.ServerReflection, {
    async *serverReflectionInfo(requests) {
      for await (const req of requests) yield answer(index(), req);
    },
  });
  // same messages and field numbers: v1alpha is answered through v1, converted on the wire format
  router.service(reflectionV1alpha.ServerReflection, {
    async *serverReflectionInfo(requests) {
      for await (const req of requests) {
        const v1 = fromBinary(reflection.ServerReflectionRequestSchema, toBinary(reflectionV1alpha.ServerReflectionRequestSchema, req));
        yield fromBinary(reflectionV1alpha.ServerReflectionResponseSchema, toBinary(reflection.ServerReflectionResponseSchema, answer(index(), v1)));
      }
    },
  });
}
