// What a Haier config may hold. Secrets live in the environment: a settings document names the
// variable (`password_env: "HAIER_PASSWORD"`) and never carries the value. Pure.
import type { JsonObject, JsonValue } from '@bufbuild/protobuf';
import { rules } from '@haier-sync/contracts';
import { isSecretName, maskSecretSettings } from '@haier-sync/runtime';

export const ENVIRONMENTS = ['test', 'pre-production', 'production'] as const;

const ENV_SUFFIX = /(_env|Env)$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const URL_KEY = /(_url|Url)$/;


export interface SettingsProblem {
  path: string;
  message: string;
}

/** Keys that hold a secret when given a literal value: the runtime's one secret-name rule. */
export const isSecretKey = isSecretName;

function envKeyFor(key: string): string {
  return /[A-Z]/.test(key) && !key.includes('_') ? `${key}Env` : `${key}_env`;
}

/** Every problem with a settings document (empty when it is fine). */
export function settingsProblems(settings: JsonObject): SettingsProblem[] {
  const out: SettingsProblem[] = [];
  const walk = (value: JsonValue, path: string, key: string): void => {
    if (value !== null && typeof value === 'object') {
      if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${path}[${i}]`, key));
      else for (const [k, v] of Object.entries(value)) walk(v, path ? `${path}.${k}` : k, k);
      return;
    }
    if (key === '') return;
    if (ENV_SUFFIX.test(key)) {
      if (typeof value !== 'string' || !ENV_NAME.test(value)) {
        out.push({
          path,
          message: `must name an environment variable (letters, digits, underscores, e.g. "HAIER_PASSWORD"), not hold a value; put the secret in that variable`,
        });
      }
      return;
    }
    if (URL_KEY.test(key) && value !== null && value !== '') {
      if (typeof value !== 'string' || !rules.httpUrl(value)) {
        out.push({ path, message: 'must be an http(s) URL such as "https://openapi.haier.example/oauth2/auth"' });
      } else if (/\/\/[^/]*@/.test(value)) {
        out.push({ path, message: 'must not carry a user or password in the URL; put secrets in environment variables and reference them with a "*_env" key' });
      }
      return;
    }
    if (isSecretKey(key) && value !== '' && value !== null && value !== false) {
      out.push({
        path,
        message: `looks like a secret with a literal value; secrets are not stored in configs. Put it in an environment variable and reference it as "${envKeyFor(key)}": "<VARIABLE_NAME>"`,
      });
    }
  };
  walk(settings, '', '');
  return out;
}

/** A copy safe to show (the masking REST answers use too): secret-looking literals masked. */
export function maskSettings(settings: JsonObject): JsonObject {
  return maskSecretSettings(settings);
}

/** The variable names a config references (values of its `*_env` keys). */
export function referencedVariables(settings: JsonObject): string[] {
  const names: string[] = [];
  const walk = (value: JsonValue, key: string): void => {
    if (value !== null && typeof value === 'object') {
      if (Array.isArray(value)) value.forEach((v) => walk(v, key));
      else for (const [k, v] of Object.entries(value)) walk(v, k);
    } else if (ENV_SUFFIX.test(key) && typeof value === 'string') names.push(value);
  };
  walk(settings, '');
  return [...new Set(names)];
}

/** What a config says about the token request, for the gateway's CheckAuth (top-level keys, snake_case or camelCase). */
export interface AccountSettings {
  baseUrl: string;
  tokenUrl: string;
  clientId: string;
  clientIdEnv: string;
  clientSecretEnv: string;
}

export function accountSettings(settings: JsonObject): AccountSettings {
  const pick = (snake: string, camel: string): string => {
    for (const k of [snake, camel]) {
      const v = settings[k];
      if (typeof v === 'string' && v.trim() !== '') return v.trim();
    }
    return '';
  };
  return {
    baseUrl: pick('base_url', 'baseUrl'),
    tokenUrl: pick('token_url', 'tokenUrl'),
    clientId: pick('client_id', 'clientId'),
    clientIdEnv: pick('client_id_env', 'clientIdEnv'),
    clientSecretEnv: pick('client_secret_env', 'clientSecretEnv'),
  };
}
