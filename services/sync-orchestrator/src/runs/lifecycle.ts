// The lifecycle of a run and of its batches, as data: the statuses and phases, which transitions
// are allowed, and what limits end a batch. Every query that moves a run or a batch takes its
// WHERE conditions and CASE expressions from here (the `sql*` functions), and the tests check the
// tables themselves. Pure.

// ----------------------------------------------------------------------------------------------
// Runs: a status (what an operator sees) and a phase (what the engine does next).

export const RUN_STATUSES = ['PENDING', 'PROCESSING', 'SUCCESS', 'FAILED', 'PARTIAL', 'CANCELLED'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** A run in one of these is active: one per kind at most (a unique index says so too). */
export const ACTIVE_STATUSES = ['PENDING', 'PROCESSING'] as const satisfies readonly RunStatus[];
/** A run in one of these has ended and never changes again. */
export const FINAL_STATUSES = ['SUCCESS', 'FAILED', 'PARTIAL', 'CANCELLED'] as const satisfies readonly RunStatus[];
/** How a finished run can end on its own (CANCELLED only comes from an operator). */
export const OUTCOME_STATUSES = ['SUCCESS', 'PARTIAL', 'FAILED'] as const satisfies readonly RunStatus[];
export type OutcomeStatus = (typeof OUTCOME_STATUSES)[number];

export const RUN_PHASES = ['plan', 'work', 'finalize', 'done'] as const;
export type RunPhase = (typeof RUN_PHASES)[number];

/** Who works on a run in each phase. */
export const PHASE_WORK: Record<RunPhase, { leased: boolean; batchesClaimable: boolean }> = {
  // the phase loop holds the run's lease while it plans; batches already planned are worked on
  plan: { leased: true, batchesClaimable: true },
  work: { leased: false, batchesClaimable: true },
  // the phase loop holds the lease while it delists and writes the final status
  finalize: { leased: true, batchesClaimable: false },
  done: { leased: false, batchesClaimable: false },
};

/** Phases the phase loop claims a run in (through the run's lease). */
export const LEASED_PHASES: readonly RunPhase[] = RUN_PHASES.filter((p) => PHASE_WORK[p].leased);
/** Phases in which a run's batches may be claimed (the run must also be PROCESSING). */
export const BATCH_PHASES: readonly RunPhase[] = RUN_PHASES.filter((p) => PHASE_WORK[p].batchesClaimable);

export interface RunState {
  status: RunStatus;
  phase: RunPhase;
}

export type RunTransitionName = 'start' | 'planned' | 'batchesDone' | 'finish' | 'fail' | 'cancel';

export interface RunTransition {
  name: RunTransitionName;
  from: { statuses: readonly RunStatus[]; phases: readonly RunPhase[] };
  /** The status after (several: the caller picks one, e.g. the outcome of a finished run). */
  toStatuses: readonly RunStatus[];
  toPhase: RunPhase;
  /** Only when every planned batch is done (batches_done >= batches_total). */
  whenAllBatchesDone?: boolean;
  /** The per-phase attempt and claim counters start again from 0 (a new leased phase). */
  resetsPhaseCounters?: boolean;
}

const ACTIVE_PHASES: readonly RunPhase[] = ['plan', 'work', 'finalize'];

/** Every allowed move of a run, and nothing else. */
export const RUN_TRANSITIONS: readonly RunTransition[] = [
  // the first planning attempt starts the run
  { name: 'start', from: { statuses: ['PENDING'], phases: ['plan'] }, toStatuses: ['PROCESSING'], toPhase: 'plan' },
  // planning is over: workers take the rest (or, with nothing left to do, finalising follows at once)
  { name: 'planned', from: { statuses: ['PROCESSING'], phases: ['plan'] }, toStatuses: ['PROCESSING'], toPhase: 'work', resetsPhaseCounters: true },
  { name: 'planned', from: { statuses: ['PROCESSING'], phases: ['plan'] }, toStatuses: ['PROCESSING'], toPhase: 'finalize', whenAllBatchesDone: true, resetsPhaseCounters: true },
  // the last batch is done (completed, or failed for good)
  { name: 'batchesDone', from: { statuses: ['PROCESSING'], phases: ['work'] }, toStatuses: ['PROCESSING'], toPhase: 'finalize', whenAllBatchesDone: true, resetsPhaseCounters: true },
  { name: 'finish', from: { statuses: ['PROCESSING'], phases: ['finalize'] }, toStatuses: OUTCOME_STATUSES, toPhase: 'done' },
  // a fatal error (the account refused, a phase out of attempts) ends an active run at any point
  { name: 'fail', from: { statuses: ACTIVE_STATUSES, phases: ACTIVE_PHASES }, toStatuses: ['FAILED'], toPhase: 'done' },
  { name: 'cancel', from: { statuses: ACTIVE_STATUSES, phases: ACTIVE_PHASES }, toStatuses: ['CANCELLED'], toPhase: 'done' },
];

/** A new run's state: where the `start` transition begins. */
export const NEW_RUN: RunState = { status: 'PENDING', phase: 'plan' };
/** The phase of every ended run (and of a recorded operation). */
export const END_PHASE: RunPhase = 'done';

export function isFinal(status: string): boolean {
  return (FINAL_STATUSES as readonly string[]).includes(status);
}

export function isActive(status: string): boolean {
  return (ACTIVE_STATUSES as readonly string[]).includes(status);
}

function transitionsNamed(name: RunTransitionName): RunTransition[] {
  const list = RUN_TRANSITIONS.filter((t) => t.name === name);
  if (list.length === 0) throw new Error(`no run transition named ${name}`);
  return list;
}

/**
 * Whether a transition applies given the batches: one with `whenAllBatchesDone` only when they
 * are; an unconditional one with a conditional sibling of the same name is its "otherwise".
 */
function applies(t: RunTransition, allBatchesDone: boolean): boolean {
  if (t.whenAllBatchesDone) return allBatchesDone;
  return !(allBatchesDone && RUN_TRANSITIONS.some((o) => o.name === t.name && o.whenAllBatchesDone));
}

/** The transitions that lead from one state to the other (empty: not allowed). */
export function transitionsBetween(from: RunState, to: RunState, allBatchesDone = false): RunTransition[] {
  return RUN_TRANSITIONS.filter(
    (t) => t.from.statuses.includes(from.status) && t.from.phases.includes(from.phase) && t.toStatuses.includes(to.status) && t.toPhase === to.phase && applies(t, allBatchesDone),
  );
}

export function canTransition(from: RunState, to: RunState, allBatchesDone = false): boolean {
  return transitionsBetween(from, to, allBatchesDone).length > 0;
}

/** The state a transition leads to from `from` (undefined: it does not apply there). */
export function nextState(name: RunTransitionName, from: RunState, opts: { allBatchesDone?: boolean; status?: RunStatus } = {}): RunState | undefined {
  const t = transitionsNamed(name).find((c) => c.from.statuses.includes(from.status) && c.from.phases.includes(from.phase) && applies(c, opts.allBatchesDone ?? false));
  if (!t) return undefined;
  const status = opts.status ?? t.toStatuses[0]!;
  if (!t.toStatuses.includes(status)) return undefined;
  return { status, phase: t.toPhase };
}

// ----------------------------------------------------------------------------------------------
// SQL generated from the tables above. Values are fixed identifiers from this module (never
// input), quoted as SQL literals.

const lit = (v: string): string => {
  if (!/^[A-Za-z_]+$/.test(v)) throw new Error(`not a lifecycle name: ${v}`);
  return `'${v}'`;
};

/** `col in ('A', 'B')` */
export function sqlIn(column: string, values: readonly string[]): string {
  if (values.length === 0) throw new Error(`sqlIn(${column}) needs at least one value`);
  return `${column} in (${values.map(lit).join(', ')})`;
}

const col = (alias: string | undefined, name: string): string => (alias ? `${alias}.${name}` : name);

/** The WHERE condition for a run row a transition may be applied to. */
export function sqlRunFrom(name: RunTransitionName, alias?: string): string {
  const list = transitionsNamed(name);
  const statuses = [...new Set(list.flatMap((t) => t.from.statuses))];
  const phases = [...new Set(list.flatMap((t) => t.from.phases))];
  const parts = [sqlIn(col(alias, 'status'), statuses)];
  // a phase condition only when it narrows what the statuses allow
  if (phases.length < ACTIVE_PHASES.length || !phases.every((p) => ACTIVE_PHASES.includes(p))) parts.push(sqlIn(col(alias, 'phase'), phases));
  return parts.join(' and ');
}

/** `status in ('PENDING', 'PROCESSING')` */
export function sqlActive(alias?: string): string {
  return sqlIn(col(alias, 'status'), ACTIVE_STATUSES);
}

/** The status of a run being worked on (planning, batches, finalising). */
export const WORKING_STATUS: RunStatus = 'PROCESSING';

/** `status = 'PROCESSING'` */
export function sqlWorking(alias?: string): string {
  return `${col(alias, 'status')} = ${lit(WORKING_STATUS)}`;
}

/** A run whose batches may be claimed now. */
export function sqlBatchesClaimable(alias?: string): string {
  return `${sqlWorking(alias)} and ${sqlIn(col(alias, 'phase'), BATCH_PHASES)}`;
}

/** A run the phase loop may claim (when its lease is free). */
export function sqlPhaseClaimable(alias?: string): string {
  return `${sqlActive(alias)} and ${sqlIn(col(alias, 'phase'), LEASED_PHASES)}`;
}

/**
 * SET assignments of a transition that depends on the batches: `phase` (and the phase counters)
 * become the target's when every batch is done, given the number of batches done after this
 * statement (`doneExpr`). Transitions without a batch condition apply as they are.
 */
export function sqlPhaseAfterBatches(name: 'planned' | 'batchesDone', doneExpr: string, alias?: string): string {
  const list = transitionsNamed(name);
  const when = list.find((t) => t.whenAllBatchesDone);
  const otherwise = list.find((t) => !t.whenAllBatchesDone);
  const phase = col(alias, 'phase');
  const from = sqlIn(phase, when!.from.phases);
  const allDone = `${from} and ${doneExpr} >= ${col(alias, 'batches_total')}`;
  const elsePhase = otherwise ? lit(otherwise.toPhase) : phase;
  const sets = [`phase = case when ${allDone} then ${lit(when!.toPhase)} else ${elsePhase} end`];
  const resetWhen = when!.resetsPhaseCounters;
  const resetElse = otherwise?.resetsPhaseCounters ?? false;
  for (const counter of ['phase_attempts', 'phase_claims']) {
    const c = col(alias, counter);
    if (resetWhen && resetElse) sets.push(`${counter} = 0`);
    else if (resetWhen) sets.push(`${counter} = case when ${allDone} then 0 else ${c} end`);
  }
  return sets.join(', ');
}

/** SET assignments of a transition to a fixed phase (and status, when given). */
export function sqlRunTo(name: RunTransitionName, status?: RunStatus): string {
  const [t] = transitionsNamed(name);
  const to = status ?? (t!.toStatuses.length === 1 ? t!.toStatuses[0] : undefined);
  const sets = [`phase = ${lit(t!.toPhase)}`];
  // the status of an outcome transition is a binding chosen by the caller: only fixed ones here
  if (to) {
    if (!t!.toStatuses.includes(to)) throw new Error(`${name} cannot lead to ${to}`);
    sets.push(`status = ${lit(to)}`);
  }
  if (t!.resetsPhaseCounters) sets.push('phase_attempts = 0', 'phase_claims = 0');
  if (t!.toPhase === 'done') sets.push('lease_until = null');
  return sets.join(', ');
}

// ----------------------------------------------------------------------------------------------
// Batches: pending -> claimed -> done, with retries and two limits.
//
// `attempts` counts tries that ran and failed (the engine asked for a retry); `claims` counts
// every time a worker took the batch. A worker that dies (its lease expires) spends a claim, not
// an attempt: the batch goes back to the queue. A batch that keeps killing its workers is caught
// by the claim limit (the poison limit), which is higher than the attempt limit.

export const BATCH_STATUSES = ['pending', 'claimed', 'done', 'failed'] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

export interface BatchLimits {
  /** Tries that ran and failed before the batch's codes fail (SYNC_MAX_ATTEMPTS). */
  maxAttempts: number;
  /** Claims (workers that took it, including ones that died) before the batch is poison (SYNC_MAX_CLAIMS). */
  maxClaims: number;
}

export type BatchTransitionName = 'claim' | 'takeOver' | 'complete' | 'retry' | 'giveBack' | 'exhaust' | 'poison';

export interface BatchTransition {
  name: BatchTransitionName;
  from: BatchStatus;
  to: BatchStatus;
  /** In words, for the tests and the README. */
  when: string;
  spends?: 'claim' | 'attempt';
}

export const BATCH_TRANSITIONS: readonly BatchTransition[] = [
  { name: 'claim', from: 'pending', to: 'claimed', when: 'due (no back-off left), attempts and claims below their limits', spends: 'claim' },
  { name: 'takeOver', from: 'claimed', to: 'claimed', when: "its worker's lease expired (the worker died): no attempt is spent", spends: 'claim' },
  { name: 'complete', from: 'claimed', to: 'done', when: 'the claim that holds it reports the outcome' },
  { name: 'retry', from: 'claimed', to: 'pending', when: 'the try failed: back to the queue after a back-off', spends: 'attempt' },
  { name: 'giveBack', from: 'claimed', to: 'pending', when: 'a dependency (catalog, gateway, Haier) was unavailable: the try could not run, so its claim is given back and no attempt is spent' },
  { name: 'exhaust', from: 'pending', to: 'failed', when: 'attempts reached maxAttempts: its codes fail with the last error' },
  { name: 'poison', from: 'claimed', to: 'failed', when: 'its lease expired and claims reached maxClaims: its workers kept dying' },
];

export function batchTransition(name: BatchTransitionName): BatchTransition {
  return BATCH_TRANSITIONS.find((t) => t.name === name)!;
}

/** `alias.status = '<from>'` of a batch transition (the batch row it may be applied to). */
export function sqlBatchFrom(name: BatchTransitionName, alias?: string): string {
  return `${col(alias, 'status')} = ${lit(batchTransition(name).from)}`;
}

/** `status = '<to>'` of a batch transition, for SET lists. */
export function sqlBatchTo(name: BatchTransitionName): string {
  return `status = ${lit(batchTransition(name).to)}`;
}

/** A batch a worker may claim now: `[sql, bindings]` for `alias` (a row of sync.run_batches). */
export function sqlBatchClaimable(alias: string, limits: BatchLimits): [string, number[]] {
  const s = `${alias}.status`;
  const due = `(${alias}.lease_until is null or ${alias}.lease_until < now())`;
  return [
    `((${s} = ${lit(batchTransition('claim').from)} and ${due} and ${alias}.attempts < ?)` +
      ` or (${s} = ${lit(batchTransition('takeOver').from)} and ${alias}.lease_until < now()))` +
      ` and ${alias}.claims < ?`,
    [limits.maxAttempts, limits.maxClaims],
  ];
}

/** A batch out of attempts (exhaust) or out of claims (poison): `[sql, bindings]`. */
export function sqlBatchDead(alias: string, limits: BatchLimits): [string, number[]] {
  const s = `${alias}.status`;
  return [
    `((${s} = ${lit(batchTransition('exhaust').from)} and ${alias}.attempts >= ?)` +
      ` or (${s} = ${lit(batchTransition('poison').from)} and ${alias}.lease_until < now() and ${alias}.claims >= ?))`,
    [limits.maxAttempts, limits.maxClaims],
  ];
}

/** Why a dead batch's codes fail, in the operator's words. */
export function deadBatchReason(b: { attempts: number; claims: number; last_error: string | null }, limits: BatchLimits): string {
  if (b.attempts >= limits.maxAttempts) return `failed after ${b.attempts} attempts: ${b.last_error ?? 'no error was recorded'}`;
  const last = b.last_error ? `; the last failed attempt said: ${b.last_error}` : '';
  return `its worker stopped ${b.claims} times while working on this batch (lease expired each time); it is not tried again (SYNC_MAX_CLAIMS=${limits.maxClaims})${last}`;
}

/**
 * The run's own leased phases (plan, finalize) follow the same rule: `phase_attempts` counts
 * tries that failed, `phase_claims` every claim. Returns why the phase is given up, or undefined.
 */
export function phaseGivenUp(run: { phase: string; phase_attempts: number | string; phase_claims: number | string; last_error: string | null }, limits: BatchLimits): string | undefined {
  const what = run.phase === 'plan' ? 'planning' : 'finalising';
  const attempts = Number(run.phase_attempts);
  const claims = Number(run.phase_claims);
  if (attempts >= limits.maxAttempts) return `${what} failed ${attempts} times: ${run.last_error ?? 'no error was recorded'}`;
  // this claim is counted already: the limit is on the claims before it
  if (claims > limits.maxClaims) return `the process ${what} this run stopped ${claims - 1} times (SYNC_MAX_CLAIMS=${limits.maxClaims})${run.last_error ? `; the last error: ${run.last_error}` : ''}`;
  return undefined;
}
