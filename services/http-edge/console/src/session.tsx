// The operator's session: the pasted API key (sessionStorage only, gone with the tab), the REST
// client with it, and who the key is (GET /api/haier/me/: name, role, SYNC_COUNTIES).
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { createContext, useContext, useMemo, useState, type ReactNode } from 'react';
import { call, clientFor, roleAllows, storedKey, storeKey, type Role } from './api';
import type { RestClient } from '@haier-sync/rest-client';

interface Me {
  name: string;
  role: Role;
  sync_counties: string[];
}

interface Session {
  apiKey: string;
  client: RestClient;
  me: Me | undefined;
  meError: Error | null;
  setKey(k: string): void;
  can(need: Role): boolean;
}

const Ctx = createContext<Session | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [apiKey, setApiKey] = useState(storedKey);
  const qc = useQueryClient();
  const client = useMemo(() => clientFor(apiKey), [apiKey]);
  const me = useQuery({
    queryKey: ['me', apiKey],
    enabled: apiKey !== '',
    retry: false,
    staleTime: 60_000,
    queryFn: async () => (await call(client.GET('/api/haier/me/'))).data as Me,
  });
  const value: Session = {
    apiKey,
    client,
    me: me.data,
    meError: me.error,
    setKey(k) {
      storeKey(k);
      qc.clear();
      setApiKey(k);
    },
    can: (need) => roleAllows(me.data?.role, need),
  };
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useSession(): Session {
  const s = useContext(Ctx);
  if (!s) throw new Error('useSession outside SessionProvider');
  return s;
}
