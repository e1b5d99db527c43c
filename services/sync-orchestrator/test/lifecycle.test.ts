// The run and batch lifecycles as data (src/runs/lifecycle.ts): which moves are allowed, what the
// generated SQL says, and the limits that end a batch or a leased phase. Pure.
import {
  ACTIVE_STATUSES,
  BATCH_PHASES,
  BATCH_TRANSITIONS,
  canTransition,
  deadBatchReason,
  FINAL_STATUSES,
  isActive,
  isFinal,
  LEASED_PHASES,
  nextState,
  phaseGivenUp,
  RUN_PHASES,
  RUN_STATUSES,
  RUN_TRANSITIONS,
  sqlBatchClaimable,
  sqlBatchDead,
  sqlIn,
  sqlPhaseAfterBatches,
  sqlRunFrom,
  sqlRunTo,
  type RunState,
} from '../src/runs/lifecycle';

const s = (status: RunState['status'], phase: RunState['phase']): RunState => ({ status, phase });

describe('run lifecycle', () => {
  test('every status is active or final, never both', () => {
    for (const st of RUN_STATUSES) expect(isActive(st) !== isFinal(st)).toBe(true);
    expect([...ACTIVE_STATUSES, ...FINAL_STATUSES].sort()).toEqual([...RUN_STATUSES].sort());
  });

  test('a final status has no way out, and every final state is in phase done', () => {
    for (const t of RUN_TRANSITIONS) {
      expect(t.from.statuses.some((x) => isFinal(x))).toBe(false);
      if (t.toStatuses.some((x) => isFinal(x))) expect(t.toPhase).toBe('done');
      expect(t.from.phases).not.toContain('done');
    }
  });

  test('the happy path: PENDING plan -> PROCESSING plan -> work -> finalize -> SUCCESS done', () => {
    let st = s('PENDING', 'plan');
    st = nextState('start', st)!;
    expect(st).toEqual(s('PROCESSING', 'plan'));
    st = nextState('planned', st, { allBatchesDone: false })!;
    expect(st).toEqual(s('PROCESSING', 'work'));
    expect(nextState('batchesDone', st, { allBatchesDone: false })).toBeUndefined();
    st = nextState('batchesDone', st, { allBatchesDone: true })!;
    expect(st).toEqual(s('PROCESSING', 'finalize'));
    st = nextState('finish', st, { status: 'PARTIAL' })!;
    expect(st).toEqual(s('PARTIAL', 'done'));
  });

  test('planning with every batch already done goes straight to finalising', () => {
    expect(nextState('planned', s('PROCESSING', 'plan'), { allBatchesDone: true })).toEqual(s('PROCESSING', 'finalize'));
    expect(canTransition(s('PROCESSING', 'plan'), s('PROCESSING', 'work'), true)).toBe(false);
    expect(canTransition(s('PROCESSING', 'plan'), s('PROCESSING', 'finalize'), false)).toBe(false);
  });

  test('moves that are not allowed', () => {
    // a run cannot finish with an outcome before finalising, nor be cancelled or started twice
    expect(canTransition(s('PROCESSING', 'work'), s('SUCCESS', 'done'))).toBe(false);
    expect(nextState('finish', s('PROCESSING', 'finalize'), { status: 'CANCELLED' })).toBeUndefined();
    expect(nextState('cancel', s('SUCCESS', 'done'))).toBeUndefined();
    expect(nextState('start', s('PROCESSING', 'plan'))).toBeUndefined();
    expect(canTransition(s('PROCESSING', 'finalize'), s('PROCESSING', 'work'))).toBe(false);
  });

  test('fail and cancel end an active run from any phase', () => {
    for (const status of ACTIVE_STATUSES) {
      for (const phase of ['plan', 'work', 'finalize'] as const) {
        expect(nextState('fail', s(status, phase))).toEqual(s('FAILED', 'done'));
        expect(nextState('cancel', s(status, phase))).toEqual(s('CANCELLED', 'done'));
      }
    }
  });

  test('who works when: the phase loop leases plan and finalize; batches are claimable while planning and working', () => {
    expect(LEASED_PHASES).toEqual(['plan', 'finalize']);
    expect(BATCH_PHASES).toEqual(['plan', 'work']);
    expect(RUN_PHASES).toEqual(['plan', 'work', 'finalize', 'done']);
  });
});

describe('SQL generated from the lifecycle', () => {
  test('conditions name the states a transition starts from', () => {
    expect(sqlRunFrom('start')).toBe("status in ('PENDING') and phase in ('plan')");
    expect(sqlRunFrom('planned')).toBe("status in ('PROCESSING') and phase in ('plan')");
    expect(sqlRunFrom('finish', 'r')).toBe("r.status in ('PROCESSING') and r.phase in ('finalize')");
    // every active phase: the status says enough
    expect(sqlRunFrom('cancel')).toBe("status in ('PENDING', 'PROCESSING')");
  });

  test('assignments of a transition: phase, status, lease and counters', () => {
    expect(sqlRunTo('start')).toBe("phase = 'plan', status = 'PROCESSING'");
    expect(sqlRunTo('cancel')).toBe("phase = 'done', status = 'CANCELLED', lease_until = null");
    expect(sqlRunTo('finish', 'SUCCESS')).toBe("phase = 'done', status = 'SUCCESS', lease_until = null");
    expect(() => sqlRunTo('finish', 'CANCELLED')).toThrow(/cannot lead to CANCELLED/);
  });

  test('the phase after batches: finalize when every batch is done, counters reset with it', () => {
    expect(sqlPhaseAfterBatches('batchesDone', 'r.batches_done + 1', 'r')).toBe(
      "phase = case when r.phase in ('work') and r.batches_done + 1 >= r.batches_total then 'finalize' else r.phase end, " +
        "phase_attempts = case when r.phase in ('work') and r.batches_done + 1 >= r.batches_total then 0 else r.phase_attempts end, " +
        "phase_claims = case when r.phase in ('work') and r.batches_done + 1 >= r.batches_total then 0 else r.phase_claims end",
    );
    expect(sqlPhaseAfterBatches('planned', 'batches_done')).toBe(
      "phase = case when phase in ('plan') and batches_done >= batches_total then 'finalize' else 'work' end, phase_attempts = 0, phase_claims = 0",
    );
  });

  test('only lifecycle names become SQL literals', () => {
    expect(sqlIn('status', ['PENDING'])).toBe("status in ('PENDING')");
    expect(() => sqlIn('status', ["x'); drop table sync.runs; --"])).toThrow(/not a lifecycle name/);
    expect(() => sqlIn('status', [])).toThrow(/at least one value/);
  });

  test('batch conditions bind the limits in order', () => {
    const limits = { maxAttempts: 3, maxClaims: 10 };
    const [claimable, b1] = sqlBatchClaimable('b', limits);
    expect(claimable).toContain("b.status = 'pending'");
    expect(claimable).toContain("b.status = 'claimed' and b.lease_until < now()");
    expect(claimable.split('?').length - 1).toBe(b1.length);
    expect(b1).toEqual([3, 10]);
    const [dead, b2] = sqlBatchDead('d', limits);
    expect(dead.split('?').length - 1).toBe(b2.length);
    expect(b2).toEqual([3, 10]);
  });
});

describe('batch lifecycle and limits', () => {
  test("only a try that ran and failed spends an attempt; a claim (even a dead worker's) spends a claim", () => {
    const spends = Object.fromEntries(BATCH_TRANSITIONS.map((t) => [t.name, t.spends ?? 'nothing']));
    expect(spends).toEqual({ claim: 'claim', takeOver: 'claim', complete: 'nothing', retry: 'attempt', giveBack: 'nothing', exhaust: 'nothing', poison: 'nothing' });
    // every batch that is not done can end: done or failed are reachable from claimed and pending
    const ends = BATCH_TRANSITIONS.filter((t) => t.to === 'done' || t.to === 'failed').map((t) => t.from);
    expect(new Set(ends)).toEqual(new Set(['pending', 'claimed']));
  });

  test('reasons in the operator words', () => {
    const limits = { maxAttempts: 3, maxClaims: 10 };
    expect(deadBatchReason({ attempts: 3, claims: 4, last_error: '[unavailable] catalog' }, limits)).toBe('failed after 3 attempts: [unavailable] catalog');
    expect(deadBatchReason({ attempts: 1, claims: 10, last_error: null }, limits)).toBe(
      'its worker stopped 10 times while working on this batch (lease expired each time); it is not tried again (SYNC_MAX_CLAIMS=10)',
    );
  });

  test('a leased phase is given up after maxAttempts failed tries or more than maxClaims claims', () => {
    const limits = { maxAttempts: 3, maxClaims: 10 };
    expect(phaseGivenUp({ phase: 'plan', phase_attempts: 2, phase_claims: 10, last_error: 'x' }, limits)).toBeUndefined();
    expect(phaseGivenUp({ phase: 'plan', phase_attempts: 3, phase_claims: 3, last_error: 'listing timed out' }, limits)).toBe('planning failed 3 times: listing timed out');
    expect(phaseGivenUp({ phase: 'finalize', phase_attempts: 0, phase_claims: 11, last_error: null }, limits)).toBe('the process finalising this run stopped 10 times (SYNC_MAX_CLAIMS=10)');
  });
});
