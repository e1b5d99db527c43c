// docs/asyncapi.yaml is a valid AsyncAPI 3 document (@asyncapi/parser, with its own ruleset)
// and lists exactly the subjects and content types the publisher uses (src/events/subjects.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Parser, type AsyncAPIDocumentInterface } from '@asyncapi/parser';
import { catalog } from '@haier-sync/contracts';
import { CONTENT_TYPES, productSubject, runSubject, stockLowSubject } from '../src/events/subjects';

const source = readFileSync(join(__dirname, '../../../docs/asyncapi.yaml'), 'utf8');

describe('AsyncAPI document against the publisher', () => {
  let doc: AsyncAPIDocumentInterface;
  let errors: string[];

  beforeAll(async () => {
    const { document, diagnostics } = await new Parser().parse(source);
    // severity 0 = error; warnings and hints (style advice) do not make the document invalid.
    errors = diagnostics.filter((d) => d.severity === 0).map((d) => `${d.path.join('.')}: ${d.message}`);
    if (!document) throw new Error(`docs/asyncapi.yaml does not parse:\n${errors.join('\n')}`);
    doc = document;
  }, 60_000);

  test('parses as AsyncAPI 3.0.0 with no errors', () => {
    expect(errors).toEqual([]);
    expect(doc.version()).toBe('3.0.0');
  });

  test('lists exactly the subjects the publisher uses', () => {
    const kinds = Object.values(catalog.ChangeKind).filter((v): v is catalog.ChangeKind => typeof v === 'number');
    const published = [
      ...kinds.map((k) => productSubject('', k)).filter((s): s is string => s !== undefined),
      stockLowSubject(''),
      ...['started', 'progress', 'completed', 'failed'].map((k) => runSubject('', k)),
    ].sort();
    const addresses = doc
      .channels()
      .all()
      .map((c) => c.address())
      .sort();
    expect(addresses).toEqual(published);
  });

  test('every channel has a receive operation and a message with a content type the publisher sets', () => {
    const publisherTypes = new Set<string>(Object.values(CONTENT_TYPES));
    const docTypes = new Set<string>();
    for (const channel of doc.channels().all()) {
      expect(channel.operations().all().map((o) => o.action())).toContain('receive');
      const messages = channel.messages().all();
      expect(messages.length).toBeGreaterThan(0);
      for (const m of messages) {
        const ct = m.contentType() ?? doc.defaultContentType();
        expect(ct).toBeDefined();
        expect(publisherTypes).toContain(ct);
        docTypes.add(ct as string);
      }
    }
    expect([...docTypes].sort()).toEqual([...publisherTypes].sort());
  });
});
