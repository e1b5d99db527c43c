// Admin: Haier configs, API keys and the audit log (admin keys), and the scheduled jobs (every
// key reads them; operators pause, resume and run them now). One section at a time under
// /admin/{section}; a section the key's role may not open is not offered (the edge refuses it too).
import type { ComponentType } from 'react';
import { Link } from 'wouter';
import type { Role } from '../api';
import { useSession } from '../session';
import { AuditSection } from './Audit';
import { ConfigsSection } from './Configs';
import { KeysSection } from './Keys';
import { SchedulesSection } from './Schedules';

interface Section {
  slug: string;
  label: string;
  /** the role the edge asks for to read it */
  role: Role;
  component: ComponentType;
}

const SECTIONS: Section[] = [
  { slug: 'configs', label: 'Haier configs', role: 'admin', component: ConfigsSection },
  { slug: 'keys', label: 'API keys', role: 'admin', component: KeysSection },
  { slug: 'audit', label: 'Audit log', role: 'admin', component: AuditSection },
  { slug: 'schedules', label: 'Schedules', role: 'viewer', component: SchedulesSection },
];

export function AdminPage({ params }: { params: { section?: string } }) {
  const { can, me } = useSession();
  const allowed = SECTIONS.filter((s) => can(s.role));
  const wanted = SECTIONS.find((s) => s.slug === params.section);
  const shown = params.section === undefined ? allowed[0] : wanted;
  return (
    <>
      <h1>Admin</h1>
      <nav aria-label="Admin sections" className="subnav">
        {allowed.map((s) => (
          <Link key={s.slug} href={`/admin/${s.slug}`} className={s === shown ? 'current' : ''} aria-current={s === shown ? 'page' : undefined}>
            {s.label}
          </Link>
        ))}
      </nav>
      {allowed.length < SECTIONS.length ? (
        <p className="note">
          {SECTIONS.filter((s) => !can(s.role))
            .map((s) => s.label)
            .join(', ')}{' '}
          need an admin key; this key ({me?.name}) has the {me?.role} role.
        </p>
      ) : null}
      {!shown ? (
        <p>
          No admin section “{params.section}”. <Link href="/admin">Back to the admin pages</Link>
        </p>
      ) : !can(shown.role) ? (
        <p className="error" role="alert">
          {shown.label} need the {shown.role} role; this key has the {me?.role} role. Ask an admin for a key with the {shown.role} role.
        </p>
      ) : (
        <shown.component />
      )}
    </>
  );
}
