/**
 * A Server-Sent Events client for tests, on fetch and a streaming body reader (Node has no
 * EventSource), parsing the wire format as the HTML standard describes it: events end at a blank
 * line, `:` starts a comment, one optional space after the colon is dropped, `data:` lines join
 * with newlines, `id:` persists as the last event id.
 */
export interface SseEvent {
  id: string | undefined;
  event: string;
  data: string;
}

export interface SseConnection {
  response: Response;
  /** The next event (not comments); rejects after `timeoutMs` or when the stream ends. */
  next: (timeoutMs?: number) => Promise<SseEvent>;
  /** Comment lines received so far (heartbeats), without the colon. */
  comments: string[];
  /** The `retry:` value the server advised, if any. */
  retry: () => number | undefined;
  lastEventId: () => string | undefined;
  /** True once the server ended the stream or the connection broke. */
  ended: () => boolean;
  close: () => void;
}

export async function openEventStream(url: string, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const response = await fetch(url, {
    headers: { accept: 'text/event-stream', ...headers },
    signal: controller.signal,
  });
  const events: SseEvent[] = [];
  const comments: string[] = [];
  let waiting: (() => void) | undefined;
  let done = false;
  let retry: number | undefined;
  let lastEventId: string | undefined;

  const pump = async () => {
    if (response.body === null) return;
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    let block = { data: [] as string[], event: '', id: undefined as string | undefined };
    try {
      for (;;) {
        const { value, done: finished } = await reader.read();
        if (finished) break;
        buffer += decoder.decode(value, { stream: true });
        let newline: number;
        while ((newline = buffer.search(/\r\n|\r|\n/)) !== -1) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
          if (line === '') {
            if (block.id !== undefined) lastEventId = block.id;
            if (block.data.length > 0)
              events.push({
                id: lastEventId,
                event: block.event || 'message',
                data: block.data.join('\n'),
              });
            block = { data: [], event: '', id: undefined };
            waiting?.();
            continue;
          }
          if (line.startsWith(':')) {
            comments.push(line.slice(1).trim());
            waiting?.();
            continue;
          }
          const colon = line.indexOf(':');
          const field = colon === -1 ? line : line.slice(0, colon);
          let value = colon === -1 ? '' : line.slice(colon + 1);
          if (value.startsWith(' ')) value = value.slice(1);
          if (field === 'data') block.data.push(value);
          else if (field === 'event') block.event = value;
          else if (field === 'id') block.id = value;
          else if (field === 'retry' && /^\d+$/.test(value)) retry = Number(value);
        }
      }
    } catch {
      // Aborted by close(), or the server cut the connection.
    } finally {
      done = true;
      waiting?.();
    }
  };
  void pump();

  const connection: SseConnection = {
    response,
    comments,
    retry: () => retry,
    lastEventId: () => lastEventId,
    ended: () => done,
    close: () => controller.abort(),
    next: async (timeoutMs = 5000) => {
      const deadline = Date.now() + timeoutMs;
      while (events.length === 0) {
        if (done) throw new Error('event stream ended');
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no event within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiting = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        waiting = undefined;
      }
      return events.shift()!;
    },
  };
  return connection;
}
