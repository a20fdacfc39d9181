// End-to-end test of the playground in headless Chromium (driven by tests/api/playground_e2e.rs).
//
//   node e2e.mjs <baseUrl> <apiKey> <screenshotDir>
//
// (a) /playground/console.html: save the key, create the seed agent, open a conversation, send a message and watch
//     the `echo` model's reply stream in token by token, then its usage and the `message.sent` event.
// (b) /playground/ (GraphiQL 5, Monaco): run a query typed into the operation editor, then an `agentUpdated`
//     subscription, and rename the agent over REST from here while it runs.
//
// Fails on: any request to a host other than 127.0.0.1 (the playground must work offline), an uncaught page error,
// a console error, or an HTTP error answer from the server. Prints one summary line on success.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [baseArg, apiKey, screenshotDir] = process.argv.slice(2);
if (!baseArg || !apiKey || !screenshotDir) {
  console.error('usage: node e2e.mjs <baseUrl> <apiKey> <screenshotDir>');
  process.exit(2);
}
const base = baseArg.replace(/\/+$/, '');
const MESSAGE = '你好，playground';
const EXPECTED_REPLY = `Echo: ${MESSAGE}`;
const NEW_NAME = 'renamed-by-e2e';
/** Any single wait; the whole run is bounded by the watchdog below. */
const STEP_TIMEOUT = 30_000;
const TOTAL_TIMEOUT = 60_000;

const started = Date.now();
let step = 'starting';
const problems = [];
const requests = [];

function fail(message) {
  const lines = [`playground e2e FAILED during "${step}": ${message}`];
  if (problems.length) lines.push('problems seen so far:', ...problems.map((p) => `  - ${p}`));
  console.error(lines.join('\n'));
  process.exit(1);
}

const watchdog = setTimeout(() => fail(`gave up after ${TOTAL_TIMEOUT / 1000} s`), TOTAL_TIMEOUT);
watchdog.unref();

/** The playground must not reach past loopback; data: and blob: URLs are local by construction. */
function checkUrl(url, what) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    problems.push(`${what} to an unparsable URL: ${url}`);
    return;
  }
  if (parsed.protocol === 'data:' || parsed.protocol === 'blob:') return;
  if (parsed.hostname !== '127.0.0.1') problems.push(`${what} to a host other than 127.0.0.1: ${url}`);
}

/** Console errors that are not a defect of the page under test. */
const BENIGN_CONSOLE_ERRORS = [
  // Navigating from the console to GraphiQL tears down the console's open WebSocket.
  /WebSocket is closed before the connection is established/,
];

function watch(page, label) {
  page.on('pageerror', (error) => problems.push(`[${label}] uncaught page error: ${error.stack ?? error}`));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const text = message.text();
    if (BENIGN_CONSOLE_ERRORS.some((re) => re.test(text))) return;
    const where = message.location()?.url ? ` (${message.location().url})` : '';
    problems.push(`[${label}] console error: ${text}${where}`);
  });
  page.on('response', async (response) => {
    if (response.status() < 400) return;
    const request = response.request();
    const body = await response.text().catch(() => '<no body>');
    const sent = request.postData();
    const hint =
      /query_too_deep/.test(body) && /IntrospectionQuery/.test(sent ?? '')
        ? '\n      (GraphiQL cannot load the schema: its standard introspection query exceeds the server\'s GraphQL depth limit)'
        : '';
    problems.push(
      `[${label}] HTTP ${response.status()} for ${request.method()} ${response.url()}` +
        `${sent ? `\n      request: ${sent.replace(/\s+/g, ' ').slice(0, 300)}` : ''}` +
        `\n      answer: ${body.slice(0, 500)}${hint}`,
    );
  });
  page.on('websocket', (ws) => checkUrl(ws.url(), `[${label}] WebSocket`));
}

/** Throws the problems collected so far (checked after each step, and at the end). */
function checkProblems() {
  if (problems.length) fail('see the problems below');
}

async function within(what, promise) {
  step = what;
  try {
    return await promise;
  } catch (error) {
    fail(`${error.message ?? error}`.split('\n')[0]);
  }
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ],
});
const closeBrowser = () => browser.close().catch(() => {});
process.on('exit', () => void closeBrowser());

try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, locale: 'en-US' });
  context.setDefaultTimeout(STEP_TIMEOUT);
  context.on('request', (request) => {
    requests.push(request.url());
    checkUrl(request.url(), 'request');
  });
  if (process.env.PLAYGROUND_E2E_VERBOSE) process.on('exit', () => console.log(requests.join('\n')));
  mkdirSync(screenshotDir, { recursive: true });

  /* ---------------- (a) the agent console ---------------- */
  const page = await context.newPage();
  watch(page, 'console.html');

  await within('open console.html', page.goto(`${base}/playground/console.html`));
  await within('console script ran', page.waitForSelector('body[data-ready="1"]', { state: 'attached' }));
  await within('save the API key', (async () => {
    await page.fill('#api-key', apiKey);
    await page.click('#save-key');
    await page.waitForFunction((key) => window.localStorage.getItem('openclaw.apiKey') === key, apiKey);
    await page.waitForSelector('#connection[data-state="connected"]');
  })());
  checkProblems();

  const agentId = await within('create the seed agent', (async () => {
    await page.click('#create-agent');
    await page.waitForFunction(() => {
      const agents = document.querySelector('#agents');
      return Number(agents?.dataset.count) >= 1 && agents.options.length >= 1 && agents.value !== '';
    });
    return page.$eval('#agents', (select) => select.value);
  })());
  checkProblems();

  const conversationId = await within('open a conversation', (async () => {
    await page.click('#open-conversation');
    await page.waitForFunction(() => {
      const text = document.querySelector('#conversation-id')?.textContent?.trim();
      return text && text !== 'none';
    });
    await page.waitForSelector('#message:enabled');
    return (await page.textContent('#conversation-id')).trim();
  })());
  checkProblems();

  const snapshots = await within('send a message and watch the reply stream', (async () => {
    // Record every distinct text #reply shows, to prove it streamed rather than appeared at once.
    await page.evaluate(() => {
      const reply = document.querySelector('#reply');
      window.__replyTexts = [];
      const record = () => {
        const text = reply.textContent ?? '';
        const seen = window.__replyTexts;
        if (seen[seen.length - 1] !== text) seen.push(text);
      };
      new MutationObserver(record).observe(reply, { childList: true, characterData: true, subtree: true });
    });
    await page.fill('#message', MESSAGE);
    await page.click('#send');
    await page.waitForSelector('#reply[data-state="streaming"], #reply[data-state="completed"], #reply[data-state="done"]');
    await page.waitForFunction(
      (expected) => {
        const reply = document.querySelector('#reply');
        return reply.textContent === expected && ['completed', 'done'].includes(reply.dataset.state);
      },
      EXPECTED_REPLY,
    );
    return page.evaluate(() => window.__replyTexts);
  })());
  step = 'check the streamed reply';
  const state = await page.$eval('#reply', (reply) => reply.dataset.state);
  const replyText = await page.textContent('#reply');
  if (replyText !== EXPECTED_REPLY) fail(`#reply is ${JSON.stringify(replyText)}, not ${JSON.stringify(EXPECTED_REPLY)}`);
  const partial = snapshots.filter((text) => text.length > 0 && text.length < EXPECTED_REPLY.length);
  if (partial.length < 1) {
    fail(`#reply never showed partial text while streaming; it went through ${JSON.stringify(snapshots)}`);
  }
  for (const text of partial) {
    if (!EXPECTED_REPLY.startsWith(text)) fail(`#reply showed ${JSON.stringify(text)}, not a prefix of the reply`);
  }
  checkProblems();

  const usage = await within('usage is shown', (async () => {
    await page.waitForFunction(() => Number(document.querySelector('#usage')?.dataset.totalTokens) > 0);
    return page.$eval('#usage', (el) => ({ ...el.dataset, text: el.textContent }));
  })());
  await within('the event feed shows message.sent', page.waitForSelector('#events li[data-type="message.sent"]'));
  checkProblems();
  await within('screenshot console.png', page.screenshot({ path: join(screenshotDir, 'console.png'), fullPage: true }));

  /* ---------------- (b) GraphiQL ---------------- */
  const graphiql = await context.newPage();
  watch(graphiql, 'graphiql');
  await page.close();

  // Frames the page sends over graphql-transport-ws, to know when the subscription has been asked for.
  const wsSent = [];
  graphiql.on('websocket', (ws) => ws.on('framesent', (frame) => wsSent.push(String(frame.payload))));

  // GraphiQL introspects the schema on load (for the docs, validation and completion in the editor).
  const introspection = graphiql.waitForResponse(
    (response) => /IntrospectionQuery/.test(response.request().postData() ?? ''),
    { timeout: STEP_TIMEOUT },
  );
  introspection.catch(() => {});
  await within('open GraphiQL', graphiql.goto(`${base}/playground/`));
  await within('GraphiQL rendered', (async () => {
    await graphiql.waitForSelector('body[data-ready="1"]', { state: 'attached' });
    await graphiql.waitForSelector('.graphiql-query-editor .monaco-editor .view-lines');
    await graphiql.waitForSelector('.graphiql-response .monaco-editor');
  })());
  await within('GraphiQL loads the schema', (async () => {
    const response = await introspection;
    const body = await response.text();
    if (!response.ok() || !body.includes('"__schema"')) {
      throw new Error(
        `GraphiQL's introspection query answered ${response.status()}: ${body.slice(0, 300)}` +
          (/query_too_deep/.test(body) ? ' (it is deeper than the server\'s GraphQL depth limit allows)' : ''),
      );
    }
  })());
  checkProblems();
  step = 'the key saved on the console applies to GraphiQL';
  const keyField = await graphiql.inputValue('#api-key');
  if (keyField !== apiKey) fail(`#api-key on GraphiQL holds ${JSON.stringify(keyField)}, not the saved key`);

  const editorText = () =>
    graphiql.$eval('.graphiql-query-editor .monaco-editor .view-lines', (el) =>
      (el.innerText ?? el.textContent).replace(/\u00a0/g, ' ').replace(/\s+/g, ' ').trim(),
    );
  const responseText = () =>
    graphiql.$eval('.graphiql-response .monaco-editor .view-lines', (el) =>
      (el.innerText ?? el.textContent).replace(/\u00a0/g, ' '),
    );

  /**
   * Replaces the operation editor's whole content with `text` (a named operation), checks Monaco holds exactly
   * that, and waits until GraphiQL has parsed it: the active tab is titled after the operation. Running before
   * that would send the previous content's operation name.
   */
  async function setOperation(text, name) {
    await graphiql.click('.graphiql-query-editor .monaco-editor .view-lines');
    await graphiql.keyboard.press('Control+A');
    await graphiql.keyboard.press('Delete');
    // One input event for the whole (one-line) text: no per-key auto-closing brackets or suggestion pop-ups to
    // fight. A multi-line text would be auto-indented and auto-closed line by line.
    await graphiql.keyboard.insertText(text);
    await graphiql.keyboard.press('Escape'); // closes any suggestion widget
    await graphiql.keyboard.press('Home'); // scrolls the (one-line) operation back into view
    await graphiql.waitForFunction(
      (expected) => {
        const el = document.querySelector('.graphiql-query-editor .monaco-editor .view-lines');
        const shown = (el?.innerText ?? '').replace(/\u00a0/g, ' ').replace(/\s+/g, ' ').trim();
        return shown === expected;
      },
      text,
      { timeout: 10_000 },
    ).catch(async () => fail(`the operation editor holds ${JSON.stringify(await editorText())}, not ${JSON.stringify(text)}`));
    await graphiql.waitForFunction(
      (expected) => document.querySelector('.graphiql-tab-active .graphiql-tab-button')?.textContent?.trim() === expected,
      name,
      { timeout: 10_000 },
    ).catch(async () => {
      const title = await graphiql.textContent('.graphiql-tab-active .graphiql-tab-button').catch(() => null);
      fail(`GraphiQL did not pick up the new operation: the active tab is titled ${JSON.stringify(title)}, not ${name}`);
    });
  }

  const QUERY = 'query E2eViewer { viewer { accountId plan } }';
  await within('run a query', (async () => {
    await setOperation(QUERY, 'E2eViewer');
    await graphiql.click('.graphiql-execute-button');
    await graphiql.waitForFunction(() => {
      const el = document.querySelector('.graphiql-response .monaco-editor .view-lines');
      return (el?.innerText ?? '').includes('"accountId"');
    });
  })());
  step = 'check the query result';
  const queryResult = await responseText();
  if (!/"plan"/.test(queryResult) || /"errors"/.test(queryResult)) fail(`unexpected query result: ${queryResult}`);
  checkProblems();

  // Named, because @graphiql/toolkit's fetcher only routes an operation to the WebSocket when it finds it by name.
  const SUBSCRIPTION = 'subscription E2eAgentUpdated { agentUpdated { id name } }';
  await within('start the agentUpdated subscription', (async () => {
    await setOperation(SUBSCRIPTION, 'E2eAgentUpdated');
    await graphiql.click('.graphiql-execute-button');
    const deadline = Date.now() + STEP_TIMEOUT;
    while (!wsSent.some((frame) => frame.includes('"subscribe"') && frame.includes('agentUpdated'))) {
      if (Date.now() > deadline) throw new Error(`GraphiQL never sent the subscription; frames: ${wsSent.join(' | ')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })());

  const patches = await within('rename the agent while the subscription runs', (async () => {
    // The subscribe frame has left the page, but the server may not have registered it yet: rename until the
    // update shows up (each rename emits agent.updated).
    const deadline = Date.now() + STEP_TIMEOUT;
    let sent = 0;
    for (;;) {
      const answer = await fetch(`${base}/v2/agents/${encodeURIComponent(agentId)}`, {
        method: 'PATCH',
        headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: NEW_NAME }),
      });
      if (!answer.ok) throw new Error(`PATCH /v2/agents/${agentId} answered ${answer.status}: ${await answer.text()}`);
      sent += 1;
      const shown = await graphiql
        .waitForFunction(
          (name) => {
            const el = document.querySelector('.graphiql-response .monaco-editor .view-lines');
            return (el?.innerText ?? '').includes(name);
          },
          NEW_NAME,
          { timeout: 3_000 },
        )
        .then(() => true, () => false);
      if (shown) return sent;
      if (Date.now() > deadline) {
        throw new Error(`the result pane never showed ${NEW_NAME} after ${sent} renames: ${await responseText()}`);
      }
    }
  })());
  step = 'check the subscription result';
  const subscriptionResult = await responseText();
  if (!subscriptionResult.includes('"agentUpdated"') || !subscriptionResult.includes(agentId)) {
    fail(`unexpected subscription result: ${subscriptionResult}`);
  }
  checkProblems();
  await within('screenshot graphiql.png', graphiql.screenshot({ path: join(screenshotDir, 'graphiql.png') }));

  // Stop the subscription so the page closes cleanly.
  await graphiql.click('.graphiql-execute-button').catch(() => {});
  checkProblems();

  step = 'done';
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(
    `playground e2e passed in ${seconds} s: agent ${agentId}, conversation ${conversationId}, ` +
      `reply ${JSON.stringify(EXPECTED_REPLY)} streamed in ${partial.length} partial update(s) (state ${state}), ` +
      `usage ${usage.totalTokens} tokens; GraphiQL query and agentUpdated subscription ` +
      `(${patches} rename(s)); ${requests.length} requests, all to 127.0.0.1`,
  );
  await closeBrowser();
  process.exit(0);
} catch (error) {
  fail(error.stack ?? String(error));
}
