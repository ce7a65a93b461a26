/**
 * The first value of header `name` in `headers`, whatever case either spells it in: transports
 * pass headers as they came (Node lowercases them, AMQP and NATS keep the sender's case).
 */
export function headerValue(headers: Readonly<Record<string, unknown>>, name: string): unknown {
  let value = headers[name];
  if (value === undefined) {
    const lower = name.toLowerCase();
    value = headers[lower];
    if (value === undefined) {
      for (const key of Object.keys(headers)) {
        if (key.toLowerCase() === lower) {
          value = headers[key];
          break;
        }
      }
    }
  }
  return Array.isArray(value) ? (value[0] as unknown) : value;
}
