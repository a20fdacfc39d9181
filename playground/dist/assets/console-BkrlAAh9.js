import{i as e,n as t,r as n,t as r}from"./settings-7WIVrAnE.js";import{n as i}from"./dist-B3T4JJAN.js";function a(e){return e.map(e=>{let t=typeof e.extensions?.code==`string`?` (${e.extensions.code})`:``;return`${e.message??`error`}${t}`}).join(`; `)}function o(e){if(Array.isArray(e))return a(e);if(e&&typeof e==`object`&&`code`in e&&`reason`in e){let{code:t,reason:n}=e;return`the WebSocket closed (${t}${n?`: ${n}`:``})`}return e instanceof Error?e.message:e&&typeof e==`object`&&`type`in e?`the WebSocket failed to connect`:String(e)}async function s(e,t,n={}){let i;try{i=await fetch(e.http,{method:`POST`,headers:{"content-type":`application/json`,accept:`application/graphql-response+json, application/json;q=0.9`,...r()},body:JSON.stringify({query:t,variables:n})})}catch(t){throw Error(`could not reach ${e.http}: ${o(t)}`)}let s;try{s=await i.json()}catch{throw Error(`${e.http} answered HTTP ${i.status} without a GraphQL body`)}if(s.errors&&s.errors.length>0)throw Error(a(s.errors));if(!i.ok||!s.data)throw Error(`${e.http} answered HTTP ${i.status}`);return s.data}function c(e,n){let s=i({url:e.ws,connectionParams:()=>r(t()),lazy:!0,retryAttempts:5,on:{connecting:()=>n(`connecting`),connected:()=>n(`connected`),closed:e=>{n(`closed${e&&typeof e==`object`&&`code`in e?` (${String(e.code)})`:``}`)}}});return{subscribe(e,t,n){return s.subscribe({query:e,variables:t},{next(e){e.errors&&e.errors.length>0&&n.error(a(e.errors)),e.data&&n.next(e.data)},error(e){n.error(o(e))},complete(){n.complete?.()}})},dispose(){s.dispose()}}}var l=`query ConsoleAgents {
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
}`,u=`mutation ConsoleCreateSeedAgent {
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
}`,d=`mutation ConsoleCreateConversation($agentId: ID!) {
  createConversation(input: { agentId: $agentId }) {
    id
    agentId
    status
  }
}`,f=`mutation ConsoleSendMessage($conversationId: ID!, $content: String!) {
  sendMessage(conversationId: $conversationId, input: { content: $content }) {
    replyId
    message {
      id
    }
  }
}`,p=`mutation ConsoleCancelReply($conversationId: ID!) {
  cancelReply(conversationId: $conversationId) {
    id
    status
  }
}`,m=`subscription ConsoleMessageStream($c: ID!) {
  messageStream(conversationId: $c) {
    sequence
    type
    event
    messageId
    delta
    data
  }
}`,h=`subscription ConsoleReplyStream($c: ID!, $m: ID!, $after: Int!) {
  messageStream(conversationId: $c, messageId: $m, after: $after) {
    sequence
    type
    event
    messageId
    delta
    data
  }
}`,g=`subscription ConsoleConversationEvents {
  conversationEvents {
    id
    type
    subjectId
    createdAt
  }
}`,_=`subscription ConsoleAgentUpdated {
  agentUpdated {
    id
    name
  }
}`,v=class{apply;onGap;applied=new Map;waiting=new Map;constructor(e,t){this.apply=e,this.onGap=t}last(e){return this.applied.get(e)??0}push(e){let{messageId:t,sequence:n}=e,r=this.last(t);if(!Number.isInteger(n)||n<=r)return;let i=this.waiting.get(t);if(n>r+1)i||this.waiting.set(t,i=new Map),i.set(n,e),this.onGap(t,r);else{this.apply(e),r=n;for(let e=i?.get(r+1);e;e=i?.get(r+1))i?.delete(r+1),this.apply(e),r+=1;i&&i.size===0&&this.waiting.delete(t),this.applied.set(t,r)}}clear(){this.applied.clear(),this.waiting.clear()}};function y(e){let t=document.getElementById(e);if(!t)throw Error(`#${e} is missing from console.html`);return t}var b={status:y(`status`),connection:y(`connection`),agents:y(`agents`),refreshAgents:y(`refresh-agents`),createAgent:y(`create-agent`),openConversation:y(`open-conversation`),conversationId:y(`conversation-id`),sendForm:y(`send-form`),message:y(`message`),send:y(`send`),cancel:y(`cancel`),reply:y(`reply`),replyStatus:y(`reply-status`),usage:y(`usage`),transcript:y(`transcript`),events:y(`events`)},x=200,S=n(),C=null,w=[],T=null,E=new v(V,(e,t)=>F(e,t));function D(e){b.status.textContent=e}function O(e){b.connection.textContent=e,b.connection.dataset.state=e.split(` `)[0]}function k(){return C||=c(S,O),C}function A(e,t){let n=t??b.agents.value;b.agents.replaceChildren(...e.map(e=>{let t=new Option(`${e.name} — ${e.model.provider}/${e.model.name} (${e.id})`,e.id);return t.dataset.testid=`agent-option`,t})),n&&e.some(e=>e.id===n)?b.agents.value=n:e.length>0&&(b.agents.selectedIndex=0),b.agents.dataset.count=String(e.length),G()}async function j(e){if(!t())D(`Paste an API key above and press Save to list your agents.`);else{b.agents.setAttribute(`aria-busy`,`true`);try{let t=await s(S,l);A(t.agents.agents,e),D(`${t.agents.agents.length} agent(s).`)}catch(e){D(`Could not list agents: ${e.message}`)}finally{b.agents.removeAttribute(`aria-busy`)}}}async function M(){b.createAgent.disabled=!0;try{let e=await s(S,u);D(`Created agent ${e.createAgent.name} (${e.createAgent.id}).`),await j(e.createAgent.id)}catch(e){D(`Could not create the agent: ${e.message}`)}finally{b.createAgent.disabled=!1,G()}}function N(){if(T){for(let e of T.stops)e();T=null,E.clear(),delete document.body.dataset.conversationId,b.conversationId.textContent=`none`,b.transcript.replaceChildren(),R(),G()}}async function P(){let e=b.agents.value;if(e){b.openConversation.disabled=!0;try{let t=await s(S,d,{agentId:e});N();let n=t.createConversation.id;T={id:n,stops:[],followed:new Set,shown:new Set,current:null,prompts:new Map},T.stops.push(k().subscribe(m,{c:n},{next:e=>E.push(e.messageStream),error:e=>D(`Reply stream: ${e}`)})),document.body.dataset.conversationId=n,b.conversationId.textContent=n,D(`Conversation ${n} is open.`),G(),b.message.focus()}catch(e){D(`Could not open a conversation: ${e.message}`)}finally{G()}}}function F(e,t){let n=T;if(!n||n.followed.has(e))return;n.followed.add(e);let r=k().subscribe(h,{c:n.id,m:e,after:t},{next:e=>E.push(e.messageStream),error:e=>D(`Reply stream: ${e}`),complete:()=>n.followed.delete(e)});n.stops.push(r)}async function I(){let e=T,t=b.message.value;if(e&&t.trim()){b.send.disabled=!0;try{let n=await s(S,f,{conversationId:e.id,content:t}),{replyId:r}=n.sendMessage;e.prompts.set(r,t),e.current?.messageId===r&&(e.current.prompt=t),b.message.value=``,z(r),F(r,E.last(r)),D(`Sent message ${n.sendMessage.message.id}; reply ${r} is streaming.`)}catch(e){D(`Could not send: ${e.message}`)}finally{G()}}}async function L(){if(T)try{let e=await s(S,p,{conversationId:T.id});D(`Reply ${e.cancelReply.id} is ${e.cancelReply.status}.`)}catch(e){D(`Could not cancel: ${e.message}`)}}function R(){b.reply.textContent=``,b.reply.removeAttribute(`data-message-id`),b.reply.dataset.state=`idle`,b.reply.setAttribute(`aria-busy`,`false`),b.replyStatus.textContent=``,b.usage.textContent=``;for(let e of[`promptTokens`,`completionTokens`,`totalTokens`])delete b.usage.dataset[e]}function z(e){let t=T;if(t&&!t.shown.has(e)){if(t.current){let{prompt:e,text:n,messageId:r}=t.current,i=document.createElement(`li`);i.dataset.messageId=r;let a=document.createElement(`p`);a.textContent=`You: ${e}`;let o=document.createElement(`p`);o.textContent=`Agent: ${n}`,i.append(a,o),b.transcript.append(i)}t.shown.add(e),t.current={messageId:e,text:``,prompt:t.prompts.get(e)??``},R(),b.reply.dataset.messageId=e,b.reply.dataset.state=`streaming`,b.reply.setAttribute(`aria-busy`,`true`),b.replyStatus.textContent=`Streaming…`}}function B(e){return e&&typeof e==`object`?e:{}}function V(e){let t=T;if(!t)return;t.shown.has(e.messageId)||z(e.messageId);let n=t.current;if(!n||n.messageId!==e.messageId)return;let r=B(e.data);switch(e.type){case`MESSAGE_DELTA`:{let t=e.delta??(typeof r.delta==`string`?r.delta:``);n.text+=t,b.reply.append(t);break}case`TOOL_CALL`:case`TOOL_RESULT`:b.replyStatus.textContent=`${e.event}${typeof r.name==`string`?`: ${r.name}`:``}`;break;case`MESSAGE_COMPLETED`:{typeof r.content==`string`&&r.content!==n.text&&(n.text=r.content,b.reply.textContent=r.content);let e=typeof r.status==`string`?r.status:`completed`;b.reply.dataset.state=e,b.replyStatus.textContent=`Reply ${e}.`,H(B(r.usage));break}case`ERROR`:{let e=typeof r.code==`string`?r.code:`error`,t=typeof r.message==`string`?r.message:``;b.reply.dataset.state=`error`,b.replyStatus.textContent=`Error ${e}${t?`: ${t}`:``}`;break}case`DONE`:b.reply.setAttribute(`aria-busy`,`false`),b.reply.dataset.state===`streaming`&&(b.reply.dataset.state=`done`),D(`Reply ${e.messageId} is ${typeof r.status==`string`?r.status:`done`}.`)}}function H(e){let t=[`promptTokens`,`completionTokens`,`totalTokens`];if(!t.every(t=>typeof e[t]==`number`))b.usage.textContent=`Usage: not reported.`;else{for(let n of t)b.usage.dataset[n]=String(e[n]);b.usage.textContent=`Usage: ${String(e.promptTokens)} prompt + ${String(e.completionTokens)} completion = ${String(e.totalTokens)} tokens`}}function U(e,t,n){let r=document.createElement(`li`);r.dataset.type=e;let i=document.createElement(`time`),a=n?new Date(n):new Date;Number.isNaN(a.getTime())||(i.dateTime=a.toISOString(),i.textContent=a.toLocaleTimeString());let o=document.createElement(`strong`);for(o.textContent=e,r.append(i,` `,o,` ${t}`),b.events.append(r);b.events.children.length>x;)b.events.firstElementChild?.remove();b.events.scrollTop=b.events.scrollHeight}function W(){for(let e of w)e();w=[],t()&&w.push(k().subscribe(g,{},{next:({conversationEvents:e})=>U(e.type,`${e.subjectId} (${e.id})`,e.createdAt),error:e=>U(`error`,`conversationEvents: ${e}`)}),k().subscribe(_,{},{next:({agentUpdated:e})=>U(`agent.updated`,`${e.id} (${e.name})`),error:e=>U(`error`,`agentUpdated: ${e}`)}))}function G(){let e=T!==null;b.openConversation.disabled=!b.agents.value,b.message.disabled=!e,b.send.disabled=!e,b.cancel.disabled=!e}function K(){N();for(let e of w)e();w=[],C?.dispose(),C=null,O(`idle`),S=n(),W(),j()}e({onSave:K}),b.refreshAgents.addEventListener(`click`,()=>void j()),b.createAgent.addEventListener(`click`,()=>void M()),b.openConversation.addEventListener(`click`,()=>void P()),b.agents.addEventListener(`change`,G),b.agents.addEventListener(`keydown`,e=>{e.key===`Enter`&&b.agents.value&&(e.preventDefault(),P())}),b.sendForm.addEventListener(`submit`,e=>{e.preventDefault(),I()}),b.message.addEventListener(`keydown`,e=>{e.key===`Enter`&&!e.shiftKey&&!e.isComposing&&(e.preventDefault(),b.sendForm.requestSubmit())}),b.cancel.addEventListener(`click`,()=>void L()),R(),O(`idle`),G(),W(),j(),document.body.dataset.ready=`1`;