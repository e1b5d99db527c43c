// docs/asyncapi.yaml lists exactly the subjects the publisher uses (src/events/subjects.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { catalog } from '@haier-sync/contracts';
import { CONTENT_TYPES, productSubject, runSubject, stockLowSubject } from '../src/events/subjects';

const doc = readFileSync(join(__dirname, '../../../docs/asyncapi.yaml'), 'utf8');
const addresses = [...doc.matchAll(/^\s+address:\s*(\S+)\s*$/gm)].map((m) => m[1]).sort();

describe('AsyncAPI document against the publisher', () => {
  test('lists exactly the subjects the publisher uses', () => {
    const kinds = Object.values(catalog.ChangeKind).filter((v): v is catalog.ChangeKind => typeof v === 'number');
    const published = [
      ...kinds.map((k) => productSubject('', k)).filter((s): s is string => s !== undefined),
      stockLowSubject(''),
      ...['started', 'progress', 'completed', 'failed'].map((k) => runSubject('', k)),
    ].sort();
    expect(addresses).toEqual(published);
  });

  test('declares the content types the publisher sets', () => {
    for (const ct of Object.values(CONTENT_TYPES)) expect(doc).toContain(`contentType: ${ct}`);
  });

  test('is an AsyncAPI 3 document', () => {
    expect(doc).toMatch(/^asyncapi: 3\.0\.0$/m);
  });
});
