import type { OpenSocket } from './client-socket.ts';
import { openNodeSocket } from './node-client-socket.ts';
import { isNode, WsClientTransport as PlatformWsClientTransport } from './ws-client-transport.ts';

/**
 * A WebSocket client transport for Node and browsers: in Node it connects with the `ws` package,
 * elsewhere (or given `options.WebSocket`) with that `WebSocket` class.
 *
 * One connection carries many calls; replies are matched by the protocol's id. Text travels as text
 * frames and bytes as binary frames; a binary frame arrives as a `Uint8Array`, a text frame as a
 * string. It connects on the first send; a lost connection fails every pending call at once with a
 * `TransportError`.
 */
export class WsClientTransport extends PlatformWsClientTransport {
  protected override createOpener(): OpenSocket {
    const { options } = this;
    if (options.WebSocket !== undefined || !isNode()) return super.createOpener();
    return openNodeSocket(this.url, {
      protocols: options.protocols,
      headers: options.headers,
      maxPayload: this.maxMessageSize,
      perMessageDeflate: options.perMessageDeflate ?? false,
    });
  }
}
