/**
 * The console's `api/stream` body read as its messages: server-sent events, each a `data:` line of
 * JSON, separated by blank lines (the browser's reader is services/console/web/store.ts).
 */
import type { StreamMessage } from '../../services/console/index.js';

export async function* streamMessages(body: AsyncIterable<Uint8Array>): AsyncGenerator<StreamMessage> {
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of body) {
    buf += decoder.decode(chunk, { stream: true });
    for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      if (block.startsWith('data: ')) yield JSON.parse(block.slice(6)) as StreamMessage;
    }
  }
}
