// The announcement's streaming snippet, run verbatim by Node against the live server. The harness supplies what
// the snippet assumes of its page: the server's origin for the relative URL, the credentials (a browser page
// would send its session), and the real id of the conversation the example calls `conv-789`.
const [base, apiKey, conversationId] = process.argv.slice(2);
const realFetch = globalThis.fetch;
globalThis.fetch = (url, init = {}) =>
  realFetch(new URL(url.replace('conv-789', conversationId), base), {
    ...init,
    headers: { ...init.headers, 'X-API-Key': apiKey },
  });

// ---- verbatim from the announcement ----
const response = await fetch('/v2/conversations/conv-789/messages', {
method: 'POST',
headers: { 'Content-Type': 'application/json' },
body: JSON.stringify({
content: '你好',
stream: true
})
});
const reader = response.body.getReader();
while (true) {
const { done, value } = await reader.read();
if (done) break;
const chunk = new TextDecoder().decode(value);
// 处理 SSE 数据
console.log(chunk);
}
