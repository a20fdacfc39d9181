// Runs every graphql-http server audit against a live OpenClaw server.
// Usage: node audit.mjs <graphql-url> <api-key>. Exits 1 if any audit (MUST, SHOULD or MAY) fails.
import { auditServer } from 'graphql-http';

const [url, apiKey] = process.argv.slice(2);
const fetchFn = (input, init = {}) =>
  fetch(input, { ...init, headers: { ...(init.headers || {}), 'x-api-key': apiKey } });

const results = await auditServer({ url, fetchFn });
let failed = 0;
for (const result of results) {
  const line = `${result.status.padEnd(7)} ${result.id} ${result.name}`;
  if (result.status === 'ok') {
    console.log(line);
  } else {
    failed += 1;
    console.log(`${line}\n        ${result.reason}`);
    if (result.response) {
      console.log(`        status ${result.response.status}: ${await result.response.text().catch(() => '')}`);
    }
  }
}
console.log(`${results.length - failed}/${results.length} audits passed`);
process.exit(failed === 0 ? 0 : 1);
