/**
 * Lets a newcomer run the example tabs in order without copying ids around.
 *
 * Results of CreateSeedAgent, CreateConversation and SendMessage are remembered (in localStorage), and a
 * variable whose value is exactly `"<agentId>"`, `"<conversationId>"` or `"<replyId>"` is replaced by the
 * remembered id before the request leaves. Anything else passes through untouched.
 */
import type { Fetcher, FetcherReturnType } from '@graphiql/toolkit';
import { PLACEHOLDERS } from './examples.js';

type Placeholder = keyof typeof PLACEHOLDERS;
type Ids = Partial<Record<Placeholder, string>>;

const STORAGE = 'openclaw.playground.lastIds';

function loadIds(): Ids {
  try {
    const parsed: unknown = JSON.parse(window.localStorage.getItem(STORAGE) ?? '{}');
    return parsed && typeof parsed === 'object' ? (parsed as Ids) : {};
  } catch {
    return {};
  }
}

function saveIds(ids: Ids): void {
  try {
    window.localStorage.setItem(STORAGE, JSON.stringify(ids));
  } catch {
    /* storage disabled: placeholders then only work until the page reloads */
  }
}

const isPlaceholder = (value: unknown): value is Placeholder =>
  typeof value === 'string' && Object.prototype.hasOwnProperty.call(PLACEHOLDERS, value);

/** Replaces placeholders anywhere in `value`; names the ones that have no id yet. */
function fill(value: unknown, ids: Ids, missing: Set<Placeholder>): unknown {
  if (isPlaceholder(value)) {
    const id = ids[value];
    if (id) return id;
    missing.add(value);
    return value;
  }
  if (Array.isArray(value)) return value.map((item) => fill(item, ids, missing));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fill(v, ids, missing)]));
  }
  return value;
}

function field(data: unknown, name: string): Record<string, unknown> | undefined {
  if (!data || typeof data !== 'object') return undefined;
  const value = (data as Record<string, unknown>)[name];
  return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
}

function remember(result: unknown): void {
  if (!result || typeof result !== 'object' || !('data' in result)) return;
  const data = (result as { data: unknown }).data;
  const found: Ids = {};
  const agentId = field(data, 'createAgent')?.id;
  const conversationId = field(data, 'createConversation')?.id;
  const replyId = field(data, 'sendMessage')?.replyId;
  if (typeof agentId === 'string') found['<agentId>'] = agentId;
  if (typeof conversationId === 'string') found['<conversationId>'] = conversationId;
  if (typeof replyId === 'string') found['<replyId>'] = replyId;
  if (Object.keys(found).length > 0) saveIds({ ...loadIds(), ...found });
}

export function withPlaceholders(fetcher: Fetcher): Fetcher {
  return (params, opts): FetcherReturnType => {
    const missing = new Set<Placeholder>();
    const variables = fill(params.variables, loadIds(), missing);
    if (missing.size > 0) {
      const needs = [...missing].map((name) => `${name} (${PLACEHOLDERS[name]})`).join(', ');
      return {
        errors: [
          {
            message: `No id for ${needs} yet: run that tab first, or replace the placeholder with a real id.`,
          },
        ],
      } as unknown as FetcherReturnType;
    }
    const result = fetcher({ ...params, variables }, opts);
    if (result && typeof (result as Promise<unknown>).then === 'function') {
      return (result as Promise<unknown>).then((value) => {
        remember(value);
        return value;
      }) as FetcherReturnType;
    }
    return result;
  };
}
