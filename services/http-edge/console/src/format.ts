// How the console writes times, durations and counts (times in UTC, as the API answers them).
export const utc = (iso: string | null | undefined) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC') : '—');
export function duration(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return '—';
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${Math.round(s % 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}
/** A datetime-local input's value read as UTC (the page says so) → ISO date-time, or undefined when empty. */
export const utcIso = (v: string) => (v ? new Date(`${v}${v.length === 16 ? ':00' : ''}Z`).toISOString() : undefined);
export const n = (v: number | undefined) => (v ?? 0).toLocaleString('en-US');
