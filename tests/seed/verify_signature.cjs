// The announcement's verifySignature, verbatim, run on deliveries a test receiver recorded.
// Usage: node verify_signature.cjs deliveries.json  →  prints one `true`/`false` per delivery.
const crypto = require('crypto');
function verifySignature(payload, signature, secret) {
const expectedSignature = crypto
.createHmac('sha256', secret)
.update(JSON.stringify(payload))
.digest('hex');
return signature === `sha256=${expectedSignature}`;
}

const deliveries = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));
for (const { body, signature, secret } of deliveries) {
  // A receiver's framework parses the body first (express.json()); the function re-serializes it.
  const payload = JSON.parse(body);
  console.log(verifySignature(payload, signature, secret));
}
