// Haier configs (admin): list, create, edit, test (does Haier issue a token for it?), activate
// (after a confirmation: it starts a FULL run, linked) and delete a config that is not the active
// one. Secrets are never values here: a `*_env` setting names the environment variable that holds it.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import type { components } from '@haier-sync/rest-client';
import { call, callNoContent } from '../api';
import { utc } from '../format';
import { useSession } from '../session';
import { ConfirmDialog, ErrorBox, NoticeLine, TableWrap, type Notice } from '../ui';

type Config = components['schemas']['HaierConfig'];
type Settings = Record<string, unknown>;

/** What the orchestrator accepts (it says so in its 400 too). */
const ENVIRONMENTS = ['test', 'pre-production', 'production'] as const;
/** A new config's settings: what `config test` reads (see the README's Configuration). */
const TEMPLATE: Settings = { base_url: 'https://', token_url: '', client_id_env: 'HAIER_CLIENT_ID', client_secret_env: 'HAIER_CLIENT_SECRET' };
const ENV_KEY = /(_env|Env)$/;

/** Settings as an operator reads them: a secret as the variable that holds it, never a value. */
function SettingsView({ settings }: { settings: Settings | undefined }) {
  const entries = Object.entries(settings ?? {});
  if (entries.length === 0) return <span className="muted">no settings</span>;
  return (
    <dl className="settings">
      {entries.map(([k, v]) => (
        <div key={k}>
          <dt>{ENV_KEY.test(k) ? k.replace(ENV_KEY, '') : k}</dt>
          <dd>
            {ENV_KEY.test(k) ? (
              <>
                <span className="badge">env</span> <code>{String(v)}</code>
              </>
            ) : typeof v === 'string' ? (
              v
            ) : (
              <code>{JSON.stringify(v)}</code>
            )}
          </dd>
        </div>
      ))}
    </dl>
  );
}

/** The settings text as an object, or the reason it is not one (said in the page, no request made). */
function parseSettings(text: string): { settings?: Settings; problem?: string } {
  let v: unknown;
  try {
    v = JSON.parse(text.trim() === '' ? '{}' : text);
  } catch (e) {
    return { problem: `Settings are not JSON (${(e as Error).message}); write them as {"base_url": "https://…", "client_secret_env": "HAIER_CLIENT_SECRET"}.` };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return { problem: 'Settings must be one JSON object, {"key": "value", …}.' };
  return { settings: v as Settings };
}

function ConfigForm({ editing, onDone }: { editing: Config | null; onDone(message: string): void }) {
  const { client } = useSession();
  const qc = useQueryClient();
  const [name, setName] = useState(editing?.name ?? '');
  const [environment, setEnvironment] = useState(editing?.environment ?? 'test');
  const [text, setText] = useState(JSON.stringify(editing?.settings ?? TEMPLATE, null, 2));
  const parsed = parseSettings(text);
  const save = useMutation({
    mutationFn: async () => {
      const body = { name: name.trim(), environment, settings: parsed.settings ?? {} };
      return editing?.id !== undefined
        ? call(client.PATCH('/api/haier/config/{id}/', { params: { path: { id: String(editing.id) } }, body }))
        : call(client.POST('/api/haier/config/', { body }));
    },
    onSuccess: (r) => {
      void qc.invalidateQueries({ queryKey: ['configs'] });
      onDone(editing ? `Config “${r.data?.name}” saved.` : `Config “${r.data?.name}” created (inactive until activated).`);
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!parsed.problem) save.mutate();
  };
  const id = editing ? `config-edit` : 'config-create';
  return (
    <form className="tile config-form" onSubmit={submit} aria-labelledby={`${id}-title`} id={id}>
      <h3 id={`${id}-title`}>{editing ? `Edit config ${editing.name}` : 'New Haier config'}</h3>
      <div className="fields">
        <div className="field wide">
          <label htmlFor="config-name">Name</label>
          <input id="config-name" required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. production-main" />
        </div>
        <div className="field">
          <label htmlFor="config-environment">Environment</label>
          <select id="config-environment" value={environment} onChange={(e) => setEnvironment(e.target.value)}>
            {ENVIRONMENTS.map((x) => (
              <option key={x}>{x}</option>
            ))}
          </select>
        </div>
      </div>
      <div className="field">
        <label htmlFor="config-settings">Settings (JSON): base_url, token_url, client_id or client_id_env, client_secret_env, … — a secret only as the name of its environment variable (a *_env key), never its value</label>
        <textarea id="config-settings" className="mono" rows={8} value={text} onChange={(e) => setText(e.target.value)} spellCheck={false} aria-invalid={parsed.problem ? true : undefined} aria-describedby={parsed.problem ? 'config-settings-problem' : undefined} />
      </div>
      {parsed.problem ? (
        <p className="error" id="config-settings-problem" role="alert">
          {parsed.problem}
        </p>
      ) : null}
      <div className="actions-block">
        <button type="submit" disabled={save.isPending || parsed.problem !== undefined}>
          {save.isPending ? 'Saving…' : editing ? 'Save config' : 'Create config'}
        </button>
        <button type="button" className="secondary" onClick={() => onDone('')}>
          Close
        </button>
      </div>
      <ErrorBox error={save.error} />
    </form>
  );
}

type Pending = { action: 'activate' | 'delete'; config: Config };

export function ConfigsSection() {
  const { client } = useSession();
  const qc = useQueryClient();
  const configs = useQuery({ queryKey: ['configs'], queryFn: () => call(client.GET('/api/haier/config/')) });
  const [form, setForm] = useState<{ editing: Config | null } | null>(null);
  const [note, setNote] = useState<Notice | null>(null);
  const [tests, setTests] = useState<Record<number, { success?: boolean; message?: string }>>({});
  const [pending, setPending] = useState<Pending | null>(null);
  const test = useMutation({
    mutationFn: async (id: number) => ({ id, answer: await call(client.POST('/api/haier/config/{id}/test/', { params: { path: { id: String(id) } } })) }),
    onSuccess: ({ id, answer }) => setTests((t) => ({ ...t, [id]: answer })),
  });
  const activate = useMutation({
    mutationFn: async (c: Config) => call(client.POST('/api/haier/config/{id}/activate/', { params: { path: { id: String(c.id) } } })),
    onSuccess: (r) => {
      const runId = r.triggered_run_id ?? undefined;
      setNote({ text: `Config “${r.data?.name}” is the active one${runId ? `; it started FULL run ${runId}.` : '.'}`, runId });
      void qc.invalidateQueries({ queryKey: ['configs'] });
      void qc.invalidateQueries({ queryKey: ['runs'] });
    },
  });
  const remove = useMutation({
    mutationFn: async (c: Config) => {
      await callNoContent(client.DELETE('/api/haier/config/{id}/', { params: { path: { id: String(c.id) } } }));
      return c;
    },
    onSuccess: (c) => {
      setNote({ text: `Config “${c.name}” deleted.` });
      void qc.invalidateQueries({ queryKey: ['configs'] });
    },
  });
  const list = configs.data?.results ?? [];
  const busy = test.isPending || activate.isPending || remove.isPending;
  return (
    <section aria-labelledby="configs-title">
      <h2 id="configs-title">Haier configs</h2>
      <p className="muted">
        One config is active; activating another starts a FULL run. Secrets live in the gateway's environment (<code>HAIER_*</code> variables): a config names them.
      </p>
      {form ? (
        <ConfigForm
          key={form.editing?.id ?? 'new'}
          editing={form.editing}
          onDone={(text) => {
            setForm(null);
            if (text) setNote({ text });
          }}
        />
      ) : (
        <button type="button" onClick={() => setForm({ editing: null })}>
          New config
        </button>
      )}
      <NoticeLine id="config-note" notice={note} />
      <ErrorBox error={configs.error ?? test.error ?? activate.error ?? remove.error} />
      <TableWrap>
        <table id="configs">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Environment</th>
              <th scope="col">Settings</th>
              <th scope="col">Updated (UTC)</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {list.map((c) => {
              const t = tests[c.id!];
              return (
                <tr key={c.id} data-config={c.name} data-active={String(Boolean(c.active))}>
                  <td>
                    {c.name} {c.active ? <span className="badge status-SUCCESS">active</span> : null}
                  </td>
                  <td>{c.environment}</td>
                  <td>
                    <SettingsView settings={c.settings} />
                  </td>
                  <td>{utc(c.updated_at)}</td>
                  <td>
                    <div className="actions-block">
                      <button type="button" disabled={busy} onClick={() => setForm({ editing: c })} aria-label={`Edit ${c.name}`}>
                        Edit
                      </button>
                      <button type="button" disabled={busy} onClick={() => test.mutate(c.id!)} aria-label={`Test ${c.name}`}>
                        {test.isPending && test.variables === c.id ? 'Testing…' : 'Test'}
                      </button>
                      {c.active ? null : (
                        <>
                          <button type="button" disabled={busy} onClick={() => setPending({ action: 'activate', config: c })} aria-label={`Activate ${c.name}`}>
                            Activate
                          </button>
                          <button type="button" className="danger" disabled={busy} onClick={() => setPending({ action: 'delete', config: c })} aria-label={`Delete ${c.name}`}>
                            Delete
                          </button>
                        </>
                      )}
                    </div>
                    {t ? (
                      <p className={`test-result ${t.success ? 'ok-text' : 'warn-text'}`} role="status">
                        {t.success ? 'Authenticates: ' : 'Does not authenticate: '}
                        {t.message}
                      </p>
                    ) : null}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </TableWrap>
      <ConfirmDialog
        open={pending !== null}
        title={pending ? `${pending.action === 'activate' ? 'Activate' : 'Delete'} config ${pending.config.name}?` : ''}
        confirm={pending?.action === 'activate' ? 'Activate and start a FULL run' : 'Delete the config'}
        onCancel={() => setPending(null)}
        onConfirm={() => {
          if (pending?.action === 'activate') activate.mutate(pending.config);
          else if (pending) remove.mutate(pending.config);
          setPending(null);
        }}
      >
        <p>{pending?.action === 'activate' ? 'It replaces the active config and starts a FULL run of every product.' : 'It is gone for good; its settings are not kept anywhere else.'}</p>
      </ConfirmDialog>
    </section>
  );
}
