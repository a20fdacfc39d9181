/**
 * The agent console: pick or create an agent, open a conversation, send messages and watch the reply
 * stream in over `messageStream`, plus a feed of `conversationEvents` and `agentUpdated`.
 * Plain DOM and the graphql-ws client; the ids in console.html are the end-to-end test's handles.
 */
import '../shared/base.css';
import './console.css';

import { getApiKey, getEndpoint, initSettingsForm, type Endpoint } from '../shared/settings';
import { connect, request, type Subscriptions } from './api';
import {
  AGENT_UPDATED,
  CANCEL_REPLY,
  CONVERSATION_EVENTS,
  CREATE_CONVERSATION,
  CREATE_SEED_AGENT,
  LIST_AGENTS,
  MESSAGE_STREAM,
  REPLY_STREAM,
  SEND_MESSAGE,
} from './operations.js';
import { ReplySequencer, type StreamEvent } from './sequencer';

interface AgentSummary {
  id: string;
  name: string;
  model: { provider: string; name: string };
}

function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from console.html`);
  return element as T;
}

const ui = {
  status: $('status'),
  connection: $('connection'),
  agents: $<HTMLSelectElement>('agents'),
  refreshAgents: $<HTMLButtonElement>('refresh-agents'),
  createAgent: $<HTMLButtonElement>('create-agent'),
  openConversation: $<HTMLButtonElement>('open-conversation'),
  conversationId: $('conversation-id'),
  sendForm: $<HTMLFormElement>('send-form'),
  message: $<HTMLTextAreaElement>('message'),
  send: $<HTMLButtonElement>('send'),
  cancel: $<HTMLButtonElement>('cancel'),
  reply: $('reply'),
  replyStatus: $('reply-status'),
  usage: $('usage'),
  transcript: $<HTMLOListElement>('transcript'),
  events: $<HTMLOListElement>('events'),
};

const MAX_FEED = 200;

let endpoint: Endpoint = getEndpoint();
let subscriptions: Subscriptions | null = null;
let feedStops: Array<() => void> = [];

interface Conversation {
  id: string;
  stops: Array<() => void>;
  /** Replies followed by their own resumable subscription. */
  followed: Set<string>;
  /** Replies already shown (the current one, then those moved to the transcript). */
  shown: Set<string>;
  current: { messageId: string; text: string; prompt: string } | null;
  /** What the user sent, by reply id, for the transcript. */
  prompts: Map<string, string>;
}

let conversation: Conversation | null = null;

const sequencer = new ReplySequencer(applyStreamEvent, (messageId, after) => follow(messageId, after));

function say(text: string): void {
  ui.status.textContent = text;
}

function setConnection(status: string): void {
  ui.connection.textContent = status;
  ui.connection.dataset.state = status.split(' ')[0];
}

function ws(): Subscriptions {
  if (!subscriptions) subscriptions = connect(endpoint, setConnection);
  return subscriptions;
}

/* ---------- agents ---------- */

function renderAgents(agents: AgentSummary[], select?: string): void {
  const keep = select ?? ui.agents.value;
  ui.agents.replaceChildren(
    ...agents.map((agent) => {
      const option = new Option(`${agent.name} — ${agent.model.provider}/${agent.model.name} (${agent.id})`, agent.id);
      option.dataset.testid = 'agent-option';
      return option;
    }),
  );
  if (keep && agents.some((agent) => agent.id === keep)) ui.agents.value = keep;
  else if (agents.length > 0) ui.agents.selectedIndex = 0;
  ui.agents.dataset.count = String(agents.length);
  updateButtons();
}

async function loadAgents(select?: string): Promise<void> {
  if (!getApiKey()) {
    say('Paste an API key above and press Save to list your agents.');
    return;
  }
  ui.agents.setAttribute('aria-busy', 'true');
  try {
    const data = await request<{ agents: { agents: AgentSummary[] } }>(endpoint, LIST_AGENTS);
    renderAgents(data.agents.agents, select);
    say(`${data.agents.agents.length} agent(s).`);
  } catch (error) {
    say(`Could not list agents: ${(error as Error).message}`);
  } finally {
    ui.agents.removeAttribute('aria-busy');
  }
}

async function createSeedAgent(): Promise<void> {
  ui.createAgent.disabled = true;
  try {
    const data = await request<{ createAgent: AgentSummary }>(endpoint, CREATE_SEED_AGENT);
    say(`Created agent ${data.createAgent.name} (${data.createAgent.id}).`);
    await loadAgents(data.createAgent.id);
  } catch (error) {
    say(`Could not create the agent: ${(error as Error).message}`);
  } finally {
    ui.createAgent.disabled = false;
    updateButtons();
  }
}

/* ---------- conversation ---------- */

function closeConversation(): void {
  if (!conversation) return;
  for (const stop of conversation.stops) stop();
  conversation = null;
  sequencer.clear();
  delete document.body.dataset.conversationId;
  ui.conversationId.textContent = 'none';
  ui.transcript.replaceChildren();
  resetReply();
  updateButtons();
}

async function openConversation(): Promise<void> {
  const agentId = ui.agents.value;
  if (!agentId) return;
  ui.openConversation.disabled = true;
  try {
    const data = await request<{ createConversation: { id: string } }>(endpoint, CREATE_CONVERSATION, { agentId });
    closeConversation();
    const id = data.createConversation.id;
    conversation = { id, stops: [], followed: new Set(), shown: new Set(), current: null, prompts: new Map() };
    conversation.stops.push(
      ws().subscribe<{ messageStream: StreamEvent }>(MESSAGE_STREAM, { c: id }, {
        next: (result) => sequencer.push(result.messageStream),
        error: (message) => say(`Reply stream: ${message}`),
      }),
    );
    document.body.dataset.conversationId = id;
    ui.conversationId.textContent = id;
    say(`Conversation ${id} is open.`);
    updateButtons();
    ui.message.focus();
  } catch (error) {
    say(`Could not open a conversation: ${(error as Error).message}`);
  } finally {
    updateButtons();
  }
}

/** Follows one reply from `after` on its own resumable subscription (once per reply). */
function follow(messageId: string, after: number): void {
  const current = conversation;
  if (!current || current.followed.has(messageId)) return;
  current.followed.add(messageId);
  const stop = ws().subscribe<{ messageStream: StreamEvent }>(
    REPLY_STREAM,
    { c: current.id, m: messageId, after },
    {
      next: (result) => sequencer.push(result.messageStream),
      error: (message) => say(`Reply stream: ${message}`),
      complete: () => current.followed.delete(messageId),
    },
  );
  current.stops.push(stop);
}

async function sendMessage(): Promise<void> {
  const current = conversation;
  const content = ui.message.value;
  if (!current || !content.trim()) return;
  ui.send.disabled = true;
  try {
    const data = await request<{ sendMessage: { replyId: string; message: { id: string } } }>(
      endpoint,
      SEND_MESSAGE,
      { conversationId: current.id, content },
    );
    const { replyId } = data.sendMessage;
    current.prompts.set(replyId, content);
    if (current.current?.messageId === replyId) current.current.prompt = content;
    ui.message.value = '';
    showReply(replyId);
    follow(replyId, sequencer.last(replyId));
    say(`Sent message ${data.sendMessage.message.id}; reply ${replyId} is streaming.`);
  } catch (error) {
    say(`Could not send: ${(error as Error).message}`);
  } finally {
    updateButtons();
  }
}

async function cancelReply(): Promise<void> {
  if (!conversation) return;
  try {
    const data = await request<{ cancelReply: { id: string; status: string } }>(endpoint, CANCEL_REPLY, {
      conversationId: conversation.id,
    });
    say(`Reply ${data.cancelReply.id} is ${data.cancelReply.status}.`);
  } catch (error) {
    say(`Could not cancel: ${(error as Error).message}`);
  }
}

/* ---------- the reply pane ---------- */

function resetReply(): void {
  ui.reply.textContent = '';
  ui.reply.removeAttribute('data-message-id');
  ui.reply.dataset.state = 'idle';
  ui.reply.setAttribute('aria-busy', 'false');
  ui.replyStatus.textContent = '';
  ui.usage.textContent = '';
  for (const name of ['promptTokens', 'completionTokens', 'totalTokens']) delete ui.usage.dataset[name];
}

/** Makes `messageId` the reply on display, moving the previous one to the transcript. */
function showReply(messageId: string): void {
  const current = conversation;
  if (!current || current.shown.has(messageId)) return;
  if (current.current) {
    const { prompt, text, messageId: previous } = current.current;
    const item = document.createElement('li');
    item.dataset.messageId = previous;
    const you = document.createElement('p');
    you.textContent = `You: ${prompt}`;
    const agent = document.createElement('p');
    agent.textContent = `Agent: ${text}`;
    item.append(you, agent);
    ui.transcript.append(item);
  }
  current.shown.add(messageId);
  current.current = { messageId, text: '', prompt: current.prompts.get(messageId) ?? '' };
  resetReply();
  ui.reply.dataset.messageId = messageId;
  ui.reply.dataset.state = 'streaming';
  ui.reply.setAttribute('aria-busy', 'true');
  ui.replyStatus.textContent = 'Streaming…';
}

function record(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
}

function applyStreamEvent(event: StreamEvent): void {
  const current = conversation;
  if (!current) return;
  if (!current.shown.has(event.messageId)) showReply(event.messageId);
  const reply = current.current;
  if (!reply || reply.messageId !== event.messageId) return; // a superseded reply finishing
  const data = record(event.data);
  switch (event.type) {
    case 'MESSAGE_DELTA': {
      const delta = event.delta ?? (typeof data.delta === 'string' ? data.delta : '');
      reply.text += delta;
      ui.reply.append(delta);
      break;
    }
    case 'TOOL_CALL':
    case 'TOOL_RESULT':
      ui.replyStatus.textContent = `${event.event}${typeof data.name === 'string' ? `: ${data.name}` : ''}`;
      break;
    case 'MESSAGE_COMPLETED': {
      // The stored message is the truth (a cancelled reply keeps its partial content).
      if (typeof data.content === 'string' && data.content !== reply.text) {
        reply.text = data.content;
        ui.reply.textContent = data.content;
      }
      const status = typeof data.status === 'string' ? data.status : 'completed';
      ui.reply.dataset.state = status;
      ui.replyStatus.textContent = `Reply ${status}.`;
      showUsage(record(data.usage));
      break;
    }
    case 'ERROR': {
      const code = typeof data.code === 'string' ? data.code : 'error';
      const message = typeof data.message === 'string' ? data.message : '';
      ui.reply.dataset.state = 'error';
      ui.replyStatus.textContent = `Error ${code}${message ? `: ${message}` : ''}`;
      break;
    }
    case 'DONE':
      ui.reply.setAttribute('aria-busy', 'false');
      if (ui.reply.dataset.state === 'streaming') ui.reply.dataset.state = 'done';
      say(`Reply ${event.messageId} is ${typeof data.status === 'string' ? data.status : 'done'}.`);
      break;
    default:
      break;
  }
}

function showUsage(usage: Record<string, unknown>): void {
  const names = ['promptTokens', 'completionTokens', 'totalTokens'] as const;
  if (!names.every((name) => typeof usage[name] === 'number')) {
    ui.usage.textContent = 'Usage: not reported.';
    return;
  }
  for (const name of names) ui.usage.dataset[name] = String(usage[name]);
  ui.usage.textContent =
    `Usage: ${String(usage.promptTokens)} prompt + ${String(usage.completionTokens)} completion = ` +
    `${String(usage.totalTokens)} tokens`;
}

/* ---------- the event feed ---------- */

function feed(type: string, text: string, at?: string): void {
  const item = document.createElement('li');
  item.dataset.type = type;
  const time = document.createElement('time');
  const when = at ? new Date(at) : new Date();
  if (!Number.isNaN(when.getTime())) {
    time.dateTime = when.toISOString();
    time.textContent = when.toLocaleTimeString();
  }
  const label = document.createElement('strong');
  label.textContent = type;
  item.append(time, ' ', label, ` ${text}`);
  ui.events.append(item);
  while (ui.events.children.length > MAX_FEED) ui.events.firstElementChild?.remove();
  ui.events.scrollTop = ui.events.scrollHeight;
}

function startFeed(): void {
  for (const stop of feedStops) stop();
  feedStops = [];
  if (!getApiKey()) return;
  feedStops.push(
    ws().subscribe<{ conversationEvents: { id: string; type: string; subjectId: string; createdAt: string } }>(
      CONVERSATION_EVENTS,
      {},
      {
        next: ({ conversationEvents: e }) => feed(e.type, `${e.subjectId} (${e.id})`, e.createdAt),
        error: (message) => feed('error', `conversationEvents: ${message}`),
      },
    ),
    ws().subscribe<{ agentUpdated: { id: string; name: string } }>(AGENT_UPDATED, {}, {
      next: ({ agentUpdated: a }) => feed('agent.updated', `${a.id} (${a.name})`),
      error: (message) => feed('error', `agentUpdated: ${message}`),
    }),
  );
}

/* ---------- wiring ---------- */

function updateButtons(): void {
  const open = conversation !== null;
  ui.openConversation.disabled = !ui.agents.value;
  ui.message.disabled = !open;
  ui.send.disabled = !open;
  ui.cancel.disabled = !open;
}

function restart(): void {
  closeConversation();
  for (const stop of feedStops) stop();
  feedStops = [];
  subscriptions?.dispose();
  subscriptions = null;
  setConnection('idle');
  endpoint = getEndpoint();
  startFeed();
  void loadAgents();
}

initSettingsForm({ onSave: restart });

ui.refreshAgents.addEventListener('click', () => void loadAgents());
ui.createAgent.addEventListener('click', () => void createSeedAgent());
ui.openConversation.addEventListener('click', () => void openConversation());
ui.agents.addEventListener('change', updateButtons);
ui.agents.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && ui.agents.value) {
    event.preventDefault();
    void openConversation();
  }
});
ui.sendForm.addEventListener('submit', (event) => {
  event.preventDefault();
  void sendMessage();
});
ui.message.addEventListener('keydown', (event) => {
  // Enter sends, Shift+Enter is a new line; never while an input method is composing (e.g. pinyin).
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    ui.sendForm.requestSubmit();
  }
});
ui.cancel.addEventListener('click', () => void cancelReply());

resetReply();
setConnection('idle');
updateButtons();
startFeed();
void loadAgents();
document.body.dataset.ready = '1';
