// CPU time of processes from /proc, for the full-sync bench's cost model: one service process by
// pid, and the machine's shared Postgres and NATS (every process whose comm is `postgres` or
// `nats-server`). Benches run alone on the machine, so a delta over a phase is the phase's cost;
// other helpers' or users' Postgres sessions on the same server are left out where Postgres can
// tell (client backends of another database), the server's own background processes (WAL writer,
// checkpointer, …) and NATS cannot be split and are counted whole.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { Client as PgClient } from 'pg';

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const HZ = 100;

/** utime + stime of a live process in seconds, or NaN when it is gone. */
export function cpuSeconds(pid: number | undefined): number {
  if (!pid) return Number.NaN;
  try {
    return statCpu(readFileSync(`/proc/${pid}/stat`, 'utf8')).seconds;
  } catch {
    return Number.NaN;
  }
}

function statCpu(stat: string): { comm: string; seconds: number } {
  const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[11], fields[12]: utime, stime (fields 14 and 15 of proc(5), counted from the state)
  return { comm, seconds: (Number(fields[11]) + Number(fields[12])) / HZ };
}

export interface SharedCpuSample {
  /** pid -> CPU seconds, per shared server. */
  postgres: Map<number, number>;
  nats: Map<number, number>;
  /** Postgres pids serving another database's clients when sampled (not this run's). */
  foreign: Set<number>;
  /** This run's Postgres sessions by the process at their client end (a name of `owners`). */
  owner: Map<number, string>;
}

/** The local TCP ports of a live process's sockets (from /proc/<pid>/fd and /proc/<pid>/net/tcp*). */
export function localPorts(pid: number | undefined): Set<number> {
  const ports = new Set<number>();
  if (!pid) return ports;
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      } catch {
        // closed meanwhile
      }
    }
    for (const table of ['tcp', 'tcp6']) {
      for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1)) {
        const f = line.trim().split(/\s+/);
        if (f.length > 9 && inodes.has(f[9]!)) ports.add(parseInt(f[1]!.split(':')[1]!, 16));
      }
    }
  } catch {
    // gone
  }
  return ports;
}

/**
 * CPU of every postgres / nats-server process now; `pg` (connected to the run's database) names
 * the sessions that are not ours, and `owners` (name -> pid) the processes whose sessions to tell
 * apart (by the client port of each session).
 */
export async function sampleShared(pg?: PgClient, owners: Record<string, number | undefined> = {}): Promise<SharedCpuSample> {
  const foreign = new Set<number>();
  const owner = new Map<number, string>();
  if (pg) {
    const rows = await pg.query<{ pid: number; port: number | null; ours: boolean }>(
      `select pid, client_port as port, datname is not distinct from current_database() as ours from pg_stat_activity where backend_type = 'client backend'`,
    );
    const byPort = new Map<number, string>();
    for (const [name, pid] of Object.entries(owners)) for (const port of localPorts(pid)) byPort.set(port, name);
    for (const r of rows.rows) {
      if (!r.ours) foreign.add(Number(r.pid));
      else owner.set(Number(r.pid), (r.port !== null && byPort.get(Number(r.port))) || 'the bench');
    }
  }
  const postgres = new Map<number, number>();
  const nats = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let s: { comm: string; seconds: number };
    try {
      s = statCpu(readFileSync(`/proc/${name}/stat`, 'utf8'));
    } catch {
      continue; // exited meanwhile
    }
    if (s.comm === 'postgres') postgres.set(Number(name), s.seconds);
    else if (s.comm === 'nats-server') nats.set(Number(name), s.seconds);
  }
  return { postgres, nats, foreign, owner };
}

export interface SharedCpu {
  /** Postgres CPU seconds of this run: its database's sessions and the server's background processes. */
  postgres: number;
  /** Every postgres process on the machine, other databases' sessions included (the noise bound). */
  postgresAll: number;
  nats: number;
  /** `postgres` split by the process at each session's client end; the server's background processes as `(server)`. */
  postgresBy: Record<string, number>;
}

/**
 * CPU the shared servers used between two samples. A process that started in between counts from
 * 0; one that ended in between is lost (the bench's connections live through every phase).
 */
export function sharedDelta(a: SharedCpuSample, b: SharedCpuSample): SharedCpu {
  const sum = (before: Map<number, number>, after: Map<number, number>, skip?: Set<number>) => {
    let t = 0;
    for (const [pid, v] of after) if (!skip?.has(pid)) t += Math.max(0, v - (before.get(pid) ?? 0));
    return t;
  };
  const foreign = new Set([...a.foreign, ...b.foreign]);
  const r = (v: number) => Math.round(v * 100) / 100;
  const by: Record<string, number> = {};
  for (const [pid, v] of b.postgres) {
    if (foreign.has(pid)) continue;
    const who = b.owner.get(pid) ?? a.owner.get(pid) ?? '(server)';
    by[who] = (by[who] ?? 0) + Math.max(0, v - (a.postgres.get(pid) ?? 0));
  }
  return {
    postgres: r(sum(a.postgres, b.postgres, foreign)),
    postgresAll: r(sum(a.postgres, b.postgres)),
    nats: r(sum(a.nats, b.nats)),
    postgresBy: Object.fromEntries(Object.entries(by).map(([k, v]) => [k, r(v)])),
  };
}
