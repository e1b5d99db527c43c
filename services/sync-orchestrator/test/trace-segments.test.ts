// The relay cuts a page where the trace that wrote its rows changes (traced-publish.ts): a run's
// page is one piece (one PRODUCER span), rows without a context are a piece of their own.
import { traceSegments } from '../src/events/traced-publish';

const run1 = (span: string) => `00-4bf92f3577b34da6a3ce929d0e0e4736-${span}-01`;
const run2 = (span: string) => `00-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-${span}-01`;

test('a page written by one run (many calls) is one piece', () => {
  expect(traceSegments([run1('00f067aa0ba902b7'), run1('00f067aa0ba902b7'), run1('1111111111111111')])).toEqual([{ start: 0, end: 3 }]);
});

test('a page is cut where the trace changes, untraced rows included', () => {
  const page = [run1('00f067aa0ba902b7'), run1('1111111111111111'), null, '', run2('2222222222222222'), run1('3333333333333333')];
  expect(traceSegments(page)).toEqual([
    { start: 0, end: 2 },
    { start: 2, end: 4 },
    { start: 4, end: 5 },
    { start: 5, end: 6 },
  ]);
  expect(traceSegments([])).toEqual([]);
});
