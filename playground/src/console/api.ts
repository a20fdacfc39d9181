/**
 * The console's two transports: GraphQL over HTTP (queries and mutations) and graphql-transport-ws
 * (subscriptions), both authenticated with the saved API key.
 */
import { createClient, type Client } from 'graphql-ws';
import { authHeaders, getApiKey, type Endpoint } from '../shared/settings';

interface GraphQLErrorShape {
  message?: string;
  extensions?: { code?: unknown };
}

/** `message (code)` for each error, as the server puts the code in `extensions.code`. */
export function describeErrors(errors: readonly GraphQLErrorShape[]): string {
  return errors
    .map((error) => {
      const code = typeof error.extensions?.code === 'string' ? ` (${error.extensions.code})` : '';
      return `${error.message ?? 'error'}${code}`;
    })
    .join('; ');
}

/** A readable line for whatever graphql-ws or fetch rejected with. */
export function describeFailure(failure: unknown): string {
  if (Array.isArray(failure)) return describeErrors(failure as GraphQLErrorShape[]);
  if (failure && typeof failure === 'object' && 'code' in failure && 'reason' in failure) {
    const { code, reason } = failure as { code: number; reason: string };
    return `the WebSocket closed (${code}${reason ? `: ${reason}` : ''})`;
  }
  if (failure instanceof Error) return failure.message;
  if (failure && typeof failure === 'object' && 'type' in failure) return 'the WebSocket failed to connect';
  return String(failure);
}

export async function request<T>(
  endpoint: Endpoint,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<T> {
  let response: Response;
  try {
    response = await fetch(endpoint.http, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json;q=0.9',
        ...authHeaders(),
      },
      body: JSON.stringify({ query, variables }),
    });
  } catch (error) {
    throw new Error(`could not reach ${endpoint.http}: ${describeFailure(error)}`);
  }
  let body: { data?: T | null; errors?: GraphQLErrorShape[] };
  try {
    body = (await response.json()) as typeof body;
  } catch {
    throw new Error(`${endpoint.http} answered HTTP ${response.status} without a GraphQL body`);
  }
  if (body.errors && body.errors.length > 0) throw new Error(describeErrors(body.errors));
  if (!response.ok || !body.data) throw new Error(`${endpoint.http} answered HTTP ${response.status}`);
  return body.data;
}

export interface SubscriptionHandlers<T> {
  next(data: T): void;
  error(message: string): void;
  complete?(): void;
}

export interface Subscriptions {
  subscribe<T>(query: string, variables: Record<string, unknown>, handlers: SubscriptionHandlers<T>): () => void;
  dispose(): void;
}

/** One lazy graphql-ws client; the key is read at each (re)connect and sent in `connection_init`. */
export function connect(endpoint: Endpoint, onStatus: (status: string) => void): Subscriptions {
  const client: Client = createClient({
    url: endpoint.ws,
    connectionParams: () => authHeaders(getApiKey()),
    lazy: true,
    retryAttempts: 5,
    on: {
      connecting: () => onStatus('connecting'),
      connected: () => onStatus('connected'),
      closed: (event) => {
        const code = event && typeof event === 'object' && 'code' in event ? ` (${String(event.code)})` : '';
        onStatus(`closed${code}`);
      },
    },
  });
  return {
    subscribe<T>(query: string, variables: Record<string, unknown>, handlers: SubscriptionHandlers<T>) {
      return client.subscribe<T>(
        { query, variables },
        {
          next(result) {
            if (result.errors && result.errors.length > 0) handlers.error(describeErrors(result.errors));
            if (result.data) handlers.next(result.data);
          },
          error(failure) {
            handlers.error(describeFailure(failure));
          },
          complete() {
            handlers.complete?.();
          },
        },
      );
    },
    dispose() {
      void client.dispose();
    },
  };
}
