// The CLI's argument checks and the requests they build (pure).
import { sync } from '@haier-sync/contracts';
import {
  UsageError,
  buildListRuns,
  buildStartRun,
  parseCodes,
  parseConfigId,
  parseCounties,
  parseRunId,
  parseStatus,
  parseTime,
  parseWholeNumber,
} from '../src/cli/options';
import { exitForStatus, EXIT } from '../src/cli/exit-codes';

describe('cli options', () => {
  it('county codes must be 6 digits, and the message says so', () => {
    expect(parseCounties('110101, 310104,110101')).toEqual(['110101', '310104']);
    expect(() => parseCounties('11010')).toThrow('--county: "11010" is not a county code: 6 digits');
    expect(() => parseCounties('110101,abcdef')).toThrow(/"abcdef" is not a county code/);
    expect(() => parseCounties(' , ')).toThrow(UsageError);
  });

  it('product codes are checked and de-duplicated', () => {
    expect(parseCodes('GA0SZC00U, BH0Z5A00J,GA0SZC00U')).toEqual(['GA0SZC00U', 'BH0Z5A00J']);
    expect(() => parseCodes('GA0SZC00U,bad code;drop')).toThrow('--codes: "bad code;drop" is not a Haier product code');
    expect(() => parseCodes('x'.repeat(65))).toThrow(/not a Haier product code/);
  });

  it('numbers, ids and times', () => {
    expect(parseWholeNumber('--limit', '25', 1, 100)).toBe(25);
    expect(() => parseWholeNumber('--limit', '0', 1, 100)).toThrow('--limit must be a whole number from 1 to 100, got "0"');
    expect(() => parseWholeNumber('--limit', '2.5', 1, 100)).toThrow(UsageError);
    expect(parseRunId('42')).toBe('42');
    expect(() => parseRunId('a1b2-c3')).toThrow(/not a run id/);
    expect(() => parseRunId('9223372036854775808')).toThrow(/not a run id: a whole number from 1 to 9223372036854775807/);
    expect(parseConfigId('12')).toBe(12n);
    expect(() => parseConfigId('0')).toThrow(/whole number/);
    const now = new Date('2026-11-25T12:00:00Z');
    expect(parseTime('--since', '2h', now).toISOString()).toBe('2026-11-25T10:00:00.000Z');
    expect(parseTime('--since', '2026-11-20', now).toISOString()).toBe('2026-11-20T00:00:00.000Z');
    expect(() => parseTime('--since', 'yesterday', now)).toThrow(/--since must be a UTC time/);
    expect(parseStatus('partial')).toBe(sync.RunStatus.PARTIAL);
    expect(() => parseStatus('DONE')).toThrow(/PENDING, PROCESSING, SUCCESS, FAILED, PARTIAL, CANCELLED/);
  });

  it('builds StartRun from the options, letting the service choose the type', () => {
    const full = buildStartRun({ full: true, dryRun: true }, 'cli:ana@box');
    expect(full.mode).toBe(sync.RunMode.FULL);
    expect(full.syncType).toBe(sync.SyncType.UNSPECIFIED);
    expect(full.trigger).toBe(sync.RunTrigger.MANUAL);
    expect(full.options?.dryRun).toBe(true);
    expect(full.startedBy).toBe('cli:ana@box');

    const scoped = buildStartRun({ codes: ['A1', 'B2'], prices: true, stock: true, county: ['110101'], limit: 5 }, 'me');
    expect(scoped.mode).toBe(sync.RunMode.UNSPECIFIED);
    expect(scoped.scope?.productCodes).toEqual(['A1', 'B2']);
    expect(scoped.scope?.limit).toBe(5);
    expect(scoped.options).toMatchObject({ prices: true, stock: true, countyCodes: ['110101'], dryRun: false });

    expect(buildStartRun({ incremental: true, category: 'Fridges' }, 'me').mode).toBe(sync.RunMode.INCREMENTAL);
  });

  it('refuses contradictory combinations', () => {
    expect(() => buildStartRun({ full: true, incremental: true }, 'me')).toThrow(/exclude each other/);
    expect(() => buildStartRun({ county: ['110101'] }, 'me')).toThrow('--county only applies to stock: add --stock');
    expect(() => buildListRuns({ since: new Date('2026-11-25'), until: new Date('2026-11-24') })).toThrow(/later than --until/);
    expect(buildListRuns({ status: sync.RunStatus.FAILED }).pageSize).toBe(20);
  });

  it('runs list leaves recorded lookups out unless --operations asks for them', () => {
    expect(buildListRuns({}).includeOperations).toBe(false);
    expect(buildListRuns({ operations: true }).includeOperations).toBe(true);
  });

  it('maps final statuses to distinct exit codes', () => {
    expect(exitForStatus(sync.RunStatus.SUCCESS)).toBe(EXIT.OK);
    expect(exitForStatus(sync.RunStatus.FAILED)).toBe(1);
    expect(exitForStatus(sync.RunStatus.PARTIAL)).toBe(2);
    expect(exitForStatus(sync.RunStatus.CANCELLED)).toBe(3);
    expect(exitForStatus(sync.RunStatus.PROCESSING)).toBeUndefined();
  });
});
