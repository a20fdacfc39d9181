// Validates every GraphQL document the playground ships (GraphiQL's example tabs and the console's
// operations) against the server's schema, so a schema change that breaks them fails loudly.
//
//   node scripts/check-operations.mjs [path/to/schema.graphql]   (default: ../schema.graphql)
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildSchema, parse, validate } from 'graphql';

import { EXAMPLES } from '../src/graphiql/examples.js';
import * as consoleOperations from '../src/console/operations.js';

const schemaPath = process.argv[2] ?? fileURLToPath(new URL('../../schema.graphql', import.meta.url));
const schema = buildSchema(readFileSync(schemaPath, 'utf8'));

/** @param {string} query */
const operationName = (query) => /\b(?:query|mutation|subscription)\s+(\w+)/.exec(query)?.[1] ?? 'anonymous';

/** @type {Array<{ name: string, query: string, variables?: string }>} */
const documents = [
  ...EXAMPLES.map((example, index) => ({
    name: `GraphiQL tab ${index + 1} ${operationName(example.query)}`,
    query: example.query,
    variables: example.variables,
  })),
  ...Object.entries(consoleOperations).map(([name, query]) => ({ name: `console ${name}`, query })),
];

/** @param {unknown} error */
const messageOf = (error) => (error instanceof Error ? error.message : String(error));

let failures = 0;
for (const { name, query, variables } of documents) {
  /** @type {string[]} */
  const problems = [];
  try {
    problems.push(...validate(schema, parse(query)).map((error) => error.message));
  } catch (error) {
    problems.push(messageOf(error));
  }
  if (variables !== undefined) {
    try {
      JSON.parse(variables);
    } catch (error) {
      problems.push(`variables are not JSON: ${messageOf(error)}`);
    }
  }
  if (problems.length > 0) {
    failures += 1;
    console.error(`not ok - ${name}\n  ${problems.join('\n  ')}`);
  } else {
    console.log(`ok - ${name}`);
  }
}
console.log(`${documents.length - failures} passed, ${failures} failed`);
process.exit(failures > 0 ? 1 : 0);
