// Verifies recorded deliveries with the Standard Webhooks reference library (npm `standardwebhooks`).
// Usage: node verify.cjs cases.json, where each case is {body, headers, secret}; prints `valid` or `invalid: …`.
const { Webhook } = require('standardwebhooks');

const cases = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));
for (const { body, headers, secret } of cases) {
  // `whsec_…` secrets carry a base64 key; any other secret is used as raw bytes (the library's raw format).
  const webhook = secret.startsWith('whsec_')
    ? new Webhook(secret)
    : new Webhook(Buffer.from(secret, 'utf8'), { format: 'raw' });
  try {
    webhook.verify(body, headers);
    console.log('valid');
  } catch (error) {
    console.log(`invalid: ${error.message}`);
  }
}
