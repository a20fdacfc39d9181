// @ts-check
/**
 * Every GraphQL document the agent console sends. Plain JavaScript so `npm run check` can validate them
 * against ../schema.graphql with Node alone.
 */

export const LIST_AGENTS = `query ConsoleAgents {
  agents(limit: 100) {
    agents {
      id
      name
      model {
        provider
        name
      }
    }
  }
}`;

/** The seed agent of the announcement, verbatim. */
export const CREATE_SEED_AGENT = `mutation ConsoleCreateSeedAgent {
  createAgent(
    input: {
      name: "客服助手"
      description: "智能客服 Agent"
      model: "gpt-4"
      systemPrompt: "你是一个专业的客服助手..."
      skills: ["knowledge-base", "ticket-system"]
      settings: { temperature: 0.3, maxTokens: 2048, memoryEnabled: true }
    }
  ) {
    id
    name
    model {
      provider
      name
    }
  }
}`;

export const CREATE_CONVERSATION = `mutation ConsoleCreateConversation($agentId: ID!) {
  createConversation(input: { agentId: $agentId }) {
    id
    agentId
    status
  }
}`;

export const SEND_MESSAGE = `mutation ConsoleSendMessage($conversationId: ID!, $content: String!) {
  sendMessage(conversationId: $conversationId, input: { content: $content }) {
    replyId
    message {
      id
    }
  }
}`;

export const CANCEL_REPLY = `mutation ConsoleCancelReply($conversationId: ID!) {
  cancelReply(conversationId: $conversationId) {
    id
    status
  }
}`;

/** Every reply of the conversation, live: started as soon as the conversation opens. */
export const MESSAGE_STREAM = `subscription ConsoleMessageStream($c: ID!) {
  messageStream(conversationId: $c) {
    sequence
    type
    event
    messageId
    delta
    data
  }
}`;

/**
 * One reply's events after `after`, replayed then live: started once `sendMessage` names the reply, so
 * events that raced ahead of the conversation-wide subscription are not lost (duplicates are dropped by
 * sequence).
 */
export const REPLY_STREAM = `subscription ConsoleReplyStream($c: ID!, $m: ID!, $after: Int!) {
  messageStream(conversationId: $c, messageId: $m, after: $after) {
    sequence
    type
    event
    messageId
    delta
    data
  }
}`;

export const CONVERSATION_EVENTS = `subscription ConsoleConversationEvents {
  conversationEvents {
    id
    type
    subjectId
    createdAt
  }
}`;

export const AGENT_UPDATED = `subscription ConsoleAgentUpdated {
  agentUpdated {
    id
    name
  }
}`;
