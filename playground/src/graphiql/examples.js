// @ts-check
/**
 * GraphiQL's default tabs: one example per resource, in the order of the seed's flow.
 *
 * Plain JavaScript so `npm run check` can validate every document against ../schema.graphql with Node alone.
 * Variables may hold the placeholders below; the playground's fetcher fills them in from the ids that
 * CreateSeedAgent, CreateConversation and SendMessage returned (see ./placeholders.ts).
 */

/** Placeholder → where its value comes from. */
export const PLACEHOLDERS = {
  '<agentId>': 'the `id` returned by CreateSeedAgent',
  '<conversationId>': 'the `id` returned by CreateConversation',
  '<replyId>': 'the `replyId` returned by SendMessage',
};

/**
 * @typedef {{ query: string, variables?: string }} Example
 */

/** @param {Record<string, unknown>} value */
const json = (value) => JSON.stringify(value, null, 2);

/** @type {Example[]} */
export const EXAMPLES = [
  {
    query: `# Welcome to the OpenClaw playground.
#
# 1. Paste your API key in the header above and press Save: every request then
#    sends \`X-API-Key\`, and subscriptions send it in the WebSocket \`connection_init\`.
# 2. Run the tabs from left to right (Ctrl/Cmd+Enter or the ▶ button): they follow the seed's flow.
#    Variables such as "<agentId>" are filled in from the ids the earlier tabs returned;
#    replace them with real ids to target something else.
query Viewer {
  viewer {
    accountId
    plan
    scopes
  }
}
`,
  },
  {
    query: `# The caller's agents, newest first.
query ListAgents($limit: Int = 20, $page: Int = 1) {
  agents(limit: $limit, page: $page) {
    pagination {
      total
      page
      limit
    }
    agents {
      id
      name
      description
      model {
        provider
        name
        settings {
          temperature
          maxTokens
        }
      }
      skills {
        id
        version
        enabled
      }
      memory {
        enabled
        type
        retention
      }
      createdAt
    }
  }
}
`,
    variables: json({ limit: 20, page: 1 }),
  },
  {
    query: `# The seed agent (the announcement's example, verbatim). Its id fills "<agentId>" in later tabs.
mutation CreateSeedAgent {
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
    description
    model {
      provider
      name
      settings {
        temperature
        maxTokens
      }
    }
    systemPrompt
    skills {
      id
      version
      enabled
      config
    }
    memory {
      enabled
      type
      retention
    }
    createdAt
  }
}
`,
  },
  {
    query: `# Changes only the fields given and emits \`agent.updated\` (watch it in the AgentUpdated tab).
mutation UpdateAgent($id: ID!, $input: UpdateAgentInput!) {
  updateAgent(id: $id, input: $input) {
    id
    name
    model {
      provider
      name
      settings {
        temperature
        maxTokens
      }
    }
    updatedAt
  }
}
`,
    variables: json({ id: '<agentId>', input: { settings: { temperature: 0.5 } } }),
  },
  {
    query: `# The skills catalog, most downloaded first, optionally filtered by category.
query SkillsCatalog($category: String, $limit: Int = 20) {
  skills(category: $category, limit: $limit) {
    pagination {
      total
      page
      limit
    }
    skills {
      id
      name
      version
      category
      description
      author
      downloads
      rating
      versions {
        version
        releasedAt
      }
      configSchema
    }
  }
}
`,
    variables: json({ category: null, limit: 20 }),
  },
  {
    query: `# Installs a catalog skill; \`config\` is validated against the version's config schema.
mutation InstallSkill($agentId: ID!, $input: InstallSkillInput!) {
  installSkill(agentId: $agentId, input: $input) {
    id
    version
    enabled
    config
    installedAt
  }
}
`,
    variables: json({
      agentId: '<agentId>',
      input: { skillId: 'web-search', version: '2.1.0', config: { provider: 'google', maxResults: 10 } },
    }),
  },
  {
    query: `# Opens a conversation with one of your agents. Its id fills "<conversationId>" in later tabs.
mutation CreateConversation($input: CreateConversationInput!) {
  createConversation(input: $input) {
    id
    agentId
    status
    context {
      userId
      metadata
    }
    settings {
      model
      temperature
      maxTokens
    }
    createdAt
  }
}
`,
    variables: json({
      input: {
        agentId: '<agentId>',
        context: { userId: 'user-456', metadata: { source: 'mobile-app', locale: 'zh-CN' } },
        settings: { model: 'gpt-4', temperature: 0.7, maxTokens: 4096 },
      },
    }),
  },
  {
    query: `# Subscription: every reply of the conversation as it streams, live.
# Start it here, then run SendMessage in another tab (or use the agent console).
subscription MessageStream($conversationId: ID!) {
  messageStream(conversationId: $conversationId) {
    id
    sequence
    type
    event
    messageId
    delta
    data
  }
}
`,
    variables: json({ conversationId: '<conversationId>' }),
  },
  {
    query: `# Stores the user message and starts the reply; returns at once with \`replyId\`
# (it fills "<replyId>"). Select \`reply { content status usage { totalTokens } }\` to wait for the answer.
mutation SendMessage($conversationId: ID!, $input: SendMessageInput!) {
  sendMessage(conversationId: $conversationId, input: $input) {
    replyId
    message {
      id
      role
      content
      status
      createdAt
    }
  }
}
`,
    variables: json({ conversationId: '<conversationId>', input: { content: '帮我分析这份报告' } }),
  },
  {
    query: `# Subscription: one reply's events after sequence \`after\` (replayed if missed, then live),
# ending with DONE. Works after the reply has finished too.
subscription ReplayReply($conversationId: ID!, $messageId: ID!, $after: Int! = 0) {
  messageStream(conversationId: $conversationId, messageId: $messageId, after: $after) {
    sequence
    type
    delta
    data
  }
}
`,
    variables: json({ conversationId: '<conversationId>', messageId: '<replyId>', after: 0 }),
  },
  {
    query: `# A conversation's messages, oldest first; pass \`nextCursor\` as \`after\` for the next page.
query Messages($conversationId: ID!, $after: String, $limit: Int = 20) {
  messages(conversationId: $conversationId, after: $after, limit: $limit) {
    messages {
      id
      role
      content
      status
      model
      usage {
        promptTokens
        completionTokens
        totalTokens
      }
      finishReason
      error {
        code
        message
      }
      replyTo
      replyId
      createdAt
      completedAt
    }
    pagination {
      limit
      hasMore
      nextCursor
    }
  }
}
`,
    variables: json({ conversationId: '<conversationId>', after: null, limit: 20 }),
  },
  {
    query: `# Stops the running reply; its partial content is kept with status \`cancelled\`.
# Answers \`no_active_reply\` when nothing is running.
mutation CancelReply($conversationId: ID!) {
  cancelReply(conversationId: $conversationId) {
    id
    status
    content
    finishReason
    completedAt
  }
}
`,
    variables: json({ conversationId: '<conversationId>' }),
  },
  {
    query: `# Subscription: domain events of your conversations (conversation.created, message.received,
# message.sent). Set conversationId to follow only one conversation.
subscription ConversationEvents($conversationId: ID) {
  conversationEvents(conversationId: $conversationId) {
    id
    type
    subjectId
    createdAt
    data
  }
}
`,
    variables: json({ conversationId: null }),
  },
  {
    query: `# Subscription: each time one of your agents' configuration changes (or only agent \`id\`).
subscription AgentUpdated($id: ID) {
  agentUpdated(id: $id) {
    id
    name
    model {
      provider
      name
    }
    updatedAt
  }
}
`,
    variables: json({ id: null }),
  },
];
