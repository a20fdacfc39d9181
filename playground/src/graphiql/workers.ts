/**
 * Monaco's web workers, bundled by Vite (`?worker`) and served from our own assets, never from a CDN.
 *
 * The same three workers as `graphiql/setup-workers/vite`, declared in our source rather than imported from
 * node_modules, because Vite's dev-server dependency optimizer cannot follow `?worker` imports inside packages.
 * Must run before the first editor is created.
 */
import EditorWorker from 'monaco-editor/esm/vs/editor/editor.worker.js?worker';
import JsonWorker from 'monaco-editor/esm/vs/language/json/json.worker.js?worker';
import GraphQLWorker from 'monaco-graphql/esm/graphql.worker.js?worker';

interface MonacoEnvironment {
  getWorker(workerId: string, label: string): Worker;
}

// Monaco reads this global to create its workers.
(globalThis as typeof globalThis & { MonacoEnvironment?: MonacoEnvironment }).MonacoEnvironment = {
  getWorker(_workerId: string, label: string): Worker {
    switch (label) {
      case 'json':
        return new JsonWorker();
      case 'graphql':
        return new GraphQLWorker();
      default:
        return new EditorWorker();
    }
  },
};
