// API keys (admin): create one (the key is shown this once, with a copy button), list them
// (names, roles, prefixes, last use; never a key), revoke one after a confirmation.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { call, type Role } from '../api';
import { utc } from '../format';
import { useSession } from '../session';
import { ConfirmDialog, ErrorBox, TableWrap } from '../ui';

const ROLES: Role[] = ['viewer', 'operator', 'admin'];

/** The new key, this once: selectable text and a copy button (the clipboard may be refused: then select and copy). */
function NewKey({ name, secret, message, onDone }: { name: string; secret: string; message: string; onDone(): void }) {
  const [copied, setCopied] = useState<string>('');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied('Copied to the clipboard.');
    } catch {
      setCopied('The browser did not allow copying: select the key and press Ctrl+C (⌘C).');
    }
  };
  return (
    <div className="tile new-key" role="region" aria-labelledby="new-key-title">
      <h3 id="new-key-title">Key “{name}” created</h3>
      <p className="warn-text">{message}</p>
      <div className="inline-form">
        <label htmlFor="new-key">The key</label>
        <input id="new-key" readOnly value={secret} size={48} onFocus={(e) => e.target.select()} className="mono" />
        <button type="button" onClick={() => void copy()}>
          Copy
        </button>
        <button type="button" onClick={onDone}>
          I have stored it
        </button>
      </div>
      <p role="status" aria-live="polite">
        {copied}
      </p>
    </div>
  );
}

export function KeysSection() {
  const { client, me, setKey } = useSession();
  const qc = useQueryClient();
  const keys = useQuery({ queryKey: ['keys'], queryFn: () => call(client.GET('/api/haier/keys/')) });
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [made, setMade] = useState<{ name: string; secret: string; message: string } | null>(null);
  const [revoking, setRevoking] = useState<string | null>(null);
  const create = useMutation({
    mutationFn: async () => call(client.POST('/api/haier/keys/', { body: { name: name.trim(), role } })),
    onSuccess: (r) => {
      setMade({ name: r.data?.name ?? name, secret: r.key ?? '', message: r.message ?? 'Store this key now: it is not shown again.' });
      setName('');
      void qc.invalidateQueries({ queryKey: ['keys'] });
    },
  });
  const revoke = useMutation({
    mutationFn: async (n: string) => call(client.DELETE('/api/haier/keys/{name}/', { params: { path: { name: n } } })),
    onSuccess: (_r, revoked) => {
      // the key this console uses answers 401 from now on: sign out rather than fail every call
      if (revoked === me?.name) setKey('');
      else void qc.invalidateQueries({ queryKey: ['keys'] });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setMade(null);
    create.mutate();
  };
  const list = keys.data?.results ?? [];
  return (
    <section aria-labelledby="keys-title">
      <h2 id="keys-title">API keys</h2>
      <form className="tile" onSubmit={submit} aria-labelledby="key-create-title">
        <h3 id="key-create-title">Create a key</h3>
        <div className="fields">
          <div className="field wide">
            <label htmlFor="key-name">Name (letters, digits, . _ @ -; who uses it, e.g. shop-frontend)</label>
            <input id="key-name" required maxLength={64} value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />
          </div>
          <div className="field">
            <label htmlFor="key-role">Role</label>
            <select id="key-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          </div>
        </div>
        <p className="muted">A viewer reads; an operator also starts and cancels runs, pins prices and steers schedules; an admin also manages configs, keys and reads the audit log.</p>
        <button type="submit" disabled={create.isPending}>
          {create.isPending ? 'Creating…' : 'Create key'}
        </button>
        <ErrorBox error={create.error} />
      </form>
      {made ? <NewKey {...made} onDone={() => setMade(null)} /> : null}
      <ErrorBox error={keys.error ?? revoke.error} />
      <p className="totals">
        {list.filter((k) => !k.revoked_at).length} active, {list.filter((k) => k.revoked_at).length} revoked
      </p>
      <TableWrap>
        <table id="keys">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Role</th>
              <th scope="col">Prefix</th>
              <th scope="col">Created (UTC)</th>
              <th scope="col">Last used (UTC)</th>
              <th scope="col">State</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {list.map((k) => (
              <tr key={k.name} data-key={k.name} data-revoked={String(Boolean(k.revoked_at))}>
                <td>
                  {k.name} {k.name === me?.name ? <span className="badge">this key</span> : null}
                </td>
                <td>
                  <span className={`badge role-${k.role}`}>{k.role}</span>
                </td>
                <td>
                  <code>{k.prefix}</code>
                </td>
                <td>{utc(k.created_at)}</td>
                <td>{utc(k.last_used_at)}</td>
                <td>{k.revoked_at ? <span className="badge status-CANCELLED">revoked {utc(k.revoked_at)}</span> : <span className="badge status-SUCCESS">active</span>}</td>
                <td>
                  {k.revoked_at ? null : (
                    <button type="button" className="danger" disabled={revoke.isPending} onClick={() => setRevoking(k.name ?? null)} aria-label={`Revoke ${k.name}`}>
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
      <ConfirmDialog
        open={revoking !== null}
        title={`Revoke key ${revoking ?? ''}?`}
        confirm="Revoke the key"
        onCancel={() => setRevoking(null)}
        onConfirm={() => {
          if (revoking) revoke.mutate(revoking);
          setRevoking(null);
        }}
      >
        <p>Every call with it answers 401 from then on, and its open streams end. This cannot be undone: a new key is needed instead.</p>
        {revoking === me?.name ? <p className="warn-text">This is the key you are using: this console signs out.</p> : null}
      </ConfirmDialog>
    </section>
  );
}
