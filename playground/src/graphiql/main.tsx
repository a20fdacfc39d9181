/**
 * The GraphiQL page: GraphiQL 5 (Monaco) with history and the explorer, talking to the configured endpoint.
 *
 * Monaco's editor, JSON and GraphQL workers are bundled by Vite (./workers.ts imports
 * them with `?worker`), and GraphiQL's fonts are inlined in its CSS, so nothing is fetched from a CDN.
 */
import './workers';
import 'graphiql/style.css';
import '@graphiql/plugin-explorer/style.css';
import '../shared/base.css';
import './graphiql-page.css';

import { StrictMode, useEffect, useMemo } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL, HISTORY_PLUGIN } from 'graphiql';
import { explorerPlugin } from '@graphiql/plugin-explorer';
import { createGraphiQLFetcher } from '@graphiql/toolkit';

import { authHeaders, getApiKey, getEndpoint, initSettingsForm, type Endpoint } from '../shared/settings';
import { EXAMPLES } from './examples.js';
import { withPlaceholders } from './placeholders';

const plugins = [HISTORY_PLUGIN, explorerPlugin()];

/** GraphiQL keeps persisted request headers in its own storage; keep their key in step with ours. */
function updatePersistedHeaders(apiKey: string): void {
  const rewrite = (headers: string | null): string | null => {
    if (!headers) return headers;
    try {
      const parsed: unknown = JSON.parse(headers);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return headers;
      const next = Object.fromEntries(
        Object.entries(parsed).filter(([name]) => name.toLowerCase() !== 'x-api-key'),
      );
      return JSON.stringify({ ...next, ...authHeaders(apiKey) }, null, 2);
    } catch {
      return headers;
    }
  };
  try {
    const storage = window.localStorage;
    const headers = storage.getItem('graphiql:headers');
    if (headers) storage.setItem('graphiql:headers', rewrite(headers) ?? '');
    const tabs = storage.getItem('graphiql:tabState');
    if (tabs) {
      const state = JSON.parse(tabs) as { tabs?: Array<{ headers?: string | null }> };
      for (const tab of state.tabs ?? []) tab.headers = rewrite(tab.headers ?? null);
      storage.setItem('graphiql:tabState', JSON.stringify(state));
    }
  } catch {
    /* nothing persisted, or storage disabled */
  }
}

function Playground({ endpoint, apiKey }: { endpoint: Endpoint; apiKey: string }) {
  const fetcher = useMemo(
    () =>
      withPlaceholders(
        createGraphiQLFetcher({
          url: endpoint.http,
          subscriptionUrl: endpoint.ws,
          // Sent on every HTTP request; the headers editor can override it per tab.
          headers: authHeaders(apiKey),
          // The server reads credentials from the graphql-transport-ws `connection_init` payload;
          // the toolkit merges the headers editor's JSON on top of this.
          wsConnectionParams: authHeaders(apiKey),
          // The server answers plain JSON (no @defer/@stream), so skip multipart parsing.
          enableIncrementalDelivery: false,
        }),
      ),
    [endpoint.http, endpoint.ws, apiKey],
  );
  const headers = apiKey ? JSON.stringify(authHeaders(apiKey), null, 2) : '';
  const defaultTabs = useMemo(() => EXAMPLES.map((example) => ({ ...example, headers })), [headers]);

  useEffect(() => {
    document.body.dataset.ready = '1';
  }, []);

  return (
    <GraphiQL
      fetcher={fetcher}
      plugins={plugins}
      defaultTabs={defaultTabs}
      defaultHeaders={headers}
      defaultEditorToolsVisibility="variables"
    />
  );
}

const container = document.getElementById('graphiql');
if (!container) throw new Error('#graphiql is missing from index.html');

initSettingsForm({
  onSave(_endpoint, apiKey) {
    // GraphiQL reads its editors' initial contents once; a reload is the simple, complete way to
    // apply a new key or endpoint to the fetcher, the schema and the headers editor alike.
    updatePersistedHeaders(apiKey);
    window.location.reload();
  },
});

createRoot(container).render(
  <StrictMode>
    <Playground endpoint={getEndpoint()} apiKey={getApiKey()} />
  </StrictMode>,
);
