/**
 * Where the playground talks to and with which credential.
 *
 * Both pages share these settings through localStorage, so a key pasted once works on either page.
 * The endpoint is, in order: the `?endpoint=` query parameter (a shareable link that is never saved),
 * the value saved from the settings form, then the same origin's `/v2/graphql`.
 */

export const API_KEY_STORAGE = 'openclaw.apiKey';
export const ENDPOINT_STORAGE = 'openclaw.endpoint';
export const DEFAULT_PATH = '/v2/graphql';

export type EndpointSource = 'query' | 'saved' | 'default';

export interface Endpoint {
  /** GraphQL over HTTP, e.g. `https://host/v2/graphql`. */
  http: string;
  /** graphql-transport-ws, e.g. `wss://host/v2/graphql/ws`. */
  ws: string;
  source: EndpointSource;
}

function read(key: string): string | null {
  try {
    return window.localStorage.getItem(key);
  } catch {
    // Storage can be disabled (privacy modes); the page still works for the session.
    return null;
  }
}

function write(key: string, value: string | null): void {
  try {
    if (value === null || value === '') window.localStorage.removeItem(key);
    else window.localStorage.setItem(key, value);
  } catch {
    /* see read() */
  }
}

export function getApiKey(): string {
  return (read(API_KEY_STORAGE) ?? '').trim();
}

export function setApiKey(key: string): void {
  write(API_KEY_STORAGE, key.trim());
}

/** The `X-API-Key` header (or nothing, when no key is set). */
export function authHeaders(key = getApiKey()): Record<string, string> {
  return key ? { 'X-API-Key': key } : {};
}

/** Resolves `value` (absolute, or relative to this page) to an absolute http(s) URL, or throws. */
export function normalizeHttpEndpoint(value: string): string {
  const url = new URL(value.trim(), window.location.href);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`the endpoint must be an http(s) URL, not ${url.protocol}`);
  }
  url.hash = '';
  return url.toString();
}

/** `http://h/v2/graphql` → `ws://h/v2/graphql/ws` (and https → wss), keeping any query string. */
export function wsUrlFor(httpEndpoint: string): string {
  const url = new URL(httpEndpoint);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/ws`;
  return url.toString();
}

function fromValue(value: string, source: EndpointSource): Endpoint {
  const http = normalizeHttpEndpoint(value);
  return { http, ws: wsUrlFor(http), source };
}

export function getEndpoint(): Endpoint {
  const candidates: Array<[string | null, EndpointSource]> = [
    [new URLSearchParams(window.location.search).get('endpoint'), 'query'],
    [read(ENDPOINT_STORAGE), 'saved'],
  ];
  for (const [value, source] of candidates) {
    if (!value || !value.trim()) continue;
    try {
      return fromValue(value, source);
    } catch {
      // An unusable value falls through to the next source rather than breaking the page.
    }
  }
  return fromValue(DEFAULT_PATH, 'default');
}

/** Saves the endpoint typed in the form; empty or the same-origin default clears the saved value. */
export function setSavedEndpoint(value: string): void {
  const trimmed = value.trim();
  if (!trimmed) {
    write(ENDPOINT_STORAGE, null);
    return;
  }
  const http = normalizeHttpEndpoint(trimmed);
  write(ENDPOINT_STORAGE, http === normalizeHttpEndpoint(DEFAULT_PATH) ? null : http);
}

export interface SettingsFormOptions {
  /** Called after the key and endpoint have been saved. */
  onSave(endpoint: Endpoint, apiKey: string): void;
}

function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from the page`);
  return element as T;
}

/**
 * Wires the settings form that both pages carry in their header
 * (`#settings`, `#endpoint`, `#api-key`, `#show-key`, `#save-key`, `#settings-status`).
 */
export function initSettingsForm(options: SettingsFormOptions): void {
  const form = byId<HTMLFormElement>('settings');
  const endpointInput = byId<HTMLInputElement>('endpoint');
  const keyInput = byId<HTMLInputElement>('api-key');
  const showKey = byId<HTMLInputElement>('show-key');
  const status = byId<HTMLElement>('settings-status');

  const endpoint = getEndpoint();
  endpointInput.value = endpoint.http;
  endpointInput.placeholder = normalizeHttpEndpoint(DEFAULT_PATH);
  if (endpoint.source === 'query') {
    endpointInput.readOnly = true;
    endpointInput.title = 'Set by ?endpoint= in the address; remove it to use a saved endpoint.';
  }
  keyInput.value = getApiKey();
  status.textContent = describe(endpoint, getApiKey());

  showKey.addEventListener('change', () => {
    keyInput.type = showKey.checked ? 'text' : 'password';
  });

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    try {
      if (!endpointInput.readOnly) setSavedEndpoint(endpointInput.value);
    } catch (error) {
      status.textContent = `Not saved: ${(error as Error).message}`;
      endpointInput.focus();
      return;
    }
    setApiKey(keyInput.value);
    const saved = getEndpoint();
    endpointInput.value = saved.http;
    status.textContent = `Saved. ${describe(saved, getApiKey())}`;
    options.onSave(saved, getApiKey());
  });
}

function describe(endpoint: Endpoint, apiKey: string): string {
  const origin = { query: 'from the address', saved: 'saved', default: 'same origin' }[endpoint.source];
  return `Endpoint (${origin}): ${endpoint.http}, subscriptions: ${endpoint.ws}. ${
    apiKey ? 'API key set.' : 'No API key yet: paste one to authenticate.'
  }`;
}
