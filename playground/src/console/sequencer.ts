/**
 * Puts each reply's stream events back in order, once each.
 *
 * The console hears a reply on two subscriptions: the conversation-wide live one (opened with the
 * conversation) and a resumable one for the reply that `sendMessage` named (which replays from the start
 * whatever raced ahead of the first). Events carry their position (`sequence`, from 1) in the reply's
 * stream, so duplicates are dropped and early arrivals wait for the events before them.
 */

export type StreamEventKind =
  | 'MESSAGE_CREATED'
  | 'MESSAGE_DELTA'
  | 'TOOL_CALL'
  | 'TOOL_RESULT'
  | 'MESSAGE_COMPLETED'
  | 'ERROR'
  | 'DONE';

export interface StreamEvent {
  sequence: number;
  type: StreamEventKind;
  event: string;
  messageId: string;
  delta?: string | null;
  data?: unknown;
}

export class ReplySequencer {
  private readonly applied = new Map<string, number>();
  private readonly waiting = new Map<string, Map<number, StreamEvent>>();

  /**
   * @param apply receives every event exactly once, in sequence order per reply.
   * @param onGap is told that `messageId` is missing events after `after` (called for each early arrival).
   */
  constructor(
    private readonly apply: (event: StreamEvent) => void,
    private readonly onGap: (messageId: string, after: number) => void,
  ) {}

  /** The last sequence applied for a reply (0 before any). */
  last(messageId: string): number {
    return this.applied.get(messageId) ?? 0;
  }

  push(event: StreamEvent): void {
    const { messageId, sequence } = event;
    let last = this.last(messageId);
    if (!Number.isInteger(sequence) || sequence <= last) return;
    let queue = this.waiting.get(messageId);
    if (sequence > last + 1) {
      if (!queue) this.waiting.set(messageId, (queue = new Map()));
      queue.set(sequence, event);
      this.onGap(messageId, last);
      return;
    }
    this.apply(event);
    last = sequence;
    for (let next = queue?.get(last + 1); next; next = queue?.get(last + 1)) {
      queue?.delete(last + 1);
      this.apply(next);
      last += 1;
    }
    if (queue && queue.size === 0) this.waiting.delete(messageId);
    this.applied.set(messageId, last);
  }

  clear(): void {
    this.applied.clear();
    this.waiting.clear();
  }
}
