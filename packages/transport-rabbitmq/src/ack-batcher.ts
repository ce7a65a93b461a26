import type { Channel, Message } from 'amqplib';

/**
 * Acknowledges the deliveries of one channel in batches: calls that finish in the same turn of the
 * event loop are acknowledged with one `basic.ack` (`multiple`) covering every delivery up to a tag,
 * instead of one frame each.
 *
 * Only a run of settled deliveries is covered that way; one finished behind a call still running is
 * acknowledged on its own, at once, so a slow call never holds back the others (nor their prefetch
 * slots, nor a redelivery if this server dies). Delivery tags count up from 1 per channel, and the
 * channel has one consumer, so the tags of its deliveries have no gaps.
 */
export class AckBatcher {
  readonly #channel: Channel;
  /** Tags beyond the acknowledged run: `true` waits for an ack, `false` is settled already. */
  readonly #settled = new Map<number, boolean>();
  /** Every delivery up to this tag is settled with the broker. */
  #settledUpTo = 0;
  #flush: ReturnType<typeof setImmediate> | undefined;

  constructor(channel: Channel) {
    this.#channel = channel;
  }

  /** Acknowledges `delivery` with the others that finish in this turn of the event loop. */
  ack(delivery: Message): void {
    this.#settled.set(delivery.fields.deliveryTag, true);
    this.#flush ??= setImmediate(() => {
      try {
        this.flush();
      } catch {
        // The channel closed meanwhile; the broker redelivers what it did not see acknowledged.
      }
    });
  }

  /** Rejects `delivery` at once (to the dead-letter exchange, or back to the queue with `requeue`). */
  nack(delivery: Message, requeue: boolean): void {
    this.#channel.nack(delivery, false, requeue);
    this.#settled.set(delivery.fields.deliveryTag, false);
  }

  /** Sends the acknowledgements due now. Throws when the channel is closed. */
  flush(): void {
    if (this.#flush !== undefined) clearImmediate(this.#flush);
    this.#flush = undefined;
    let tag = this.#settledUpTo;
    let last = 0;
    for (;;) {
      const due = this.#settled.get(tag + 1);
      if (due === undefined) break;
      tag++;
      this.#settled.delete(tag);
      if (due) last = tag;
    }
    this.#settledUpTo = tag;
    if (last > 0) this.#channel.ack(tagged(last), true);
    for (const [other, due] of this.#settled) {
      if (!due) continue;
      this.#channel.ack(tagged(other), false);
      this.#settled.set(other, false);
    }
  }

  /** Drops what is pending: the channel is gone, and the broker redelivers its calls. */
  discard(): void {
    if (this.#flush !== undefined) clearImmediate(this.#flush);
    this.#flush = undefined;
    this.#settled.clear();
  }
}

// amqplib reads only the delivery tag of the message it acknowledges.
function tagged(deliveryTag: number): Message {
  return { fields: { deliveryTag } } as Message;
}
