import type { ClaimedMessage } from '../../ports/order-store.js';
import { acknowledgedPrefix, gapFreeByCount, gapFreePrefix } from './outbox-prefix.js';

const message = (id: number, orderId: string): ClaimedMessage => ({
  id,
  orderId,
  messageId: `${orderId}:${id}`,
  kind: 'status',
  routingKey: 'k',
  payload: '{}',
  createdAt: new Date(0),
});

describe('the outbox order, per order', () => {
  it('publishes only what starts at an order\'s oldest unpublished message, without a gap', () => {
    // Order a: 1 is held by another relay, so 3 waits. Order b: 2 and 4 follow each other. Order c: 6 is not its oldest (5 is).
    const claimed = [message(2, 'b'), message(3, 'a'), message(4, 'b'), message(6, 'c')];
    const pending = [1, 3].map((id) => ({ orderId: 'a', id })).concat([2, 4].map((id) => ({ orderId: 'b', id })), [5, 6].map((id) => ({ orderId: 'c', id })));
    expect(gapFreePrefix(claimed, pending).map((m) => m.id)).toEqual([2, 4]);
  });

  it('marks per order only the acknowledged prefix', () => {
    const published = [message(1, 'a'), message(2, 'b'), message(3, 'a'), message(4, 'b')];
    expect(acknowledgedPrefix(published, new Set([1, 3, 4]))).toEqual([1, 3]);
  });

  it('publishes the same messages from a count of the unpublished ones before each as from the list of them', () => {
    // As above: a:1 is held by another relay; c:5 is not claimed. Each claimed message's count of the
    // unpublished messages of its order before it: a:3 has 1 (a:1), b:2 none, b:4 one (b:2), c:6 one (c:5).
    const claimed = [message(2, 'b'), message(3, 'a'), message(4, 'b'), message(6, 'c')];
    expect(gapFreeByCount(claimed, [0, 1, 1, 1]).map((m) => m.id)).toEqual([2, 4]);
    // A gap between two claimed messages of one order (b:3 held): b:4 and every later one wait.
    const gapped = [message(2, 'b'), message(4, 'b'), message(5, 'b')];
    expect(gapFreeByCount(gapped, [0, 2, 3]).map((m) => m.id)).toEqual([2]);
  });
});
