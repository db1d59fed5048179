import type { ClaimedMessage } from '../../ports/order-store.js';

/**
 * Of the messages a relay claimed (in id order), those it may publish: per order, only the ones
 * that start at the order's oldest unpublished message (`pending`, in id order), with no gap. A row
 * another relay holds, or published but has not marked yet, keeps the later ones of its order back.
 */
export function gapFreePrefix(claimed: readonly ClaimedMessage[], pending: ReadonlyArray<{ orderId: string; id: number }>): ClaimedMessage[] {
  const queueOf = new Map<string, number[]>();
  for (const p of pending) (queueOf.get(p.orderId) ?? queueOf.set(p.orderId, []).get(p.orderId)!).push(p.id);
  const position = new Map<string, number>();
  const eligible: ClaimedMessage[] = [];
  for (const message of claimed) {
    const at = position.get(message.orderId) ?? 0;
    if (at < 0 || queueOf.get(message.orderId)?.[at] !== message.id) {
      position.set(message.orderId, -1);
      continue;
    }
    position.set(message.orderId, at + 1);
    eligible.push(message);
  }
  return eligible;
}

/** The ids to mark published: per order, only the acknowledged prefix, so a later message is never marked before an earlier one. */
export function acknowledgedPrefix(published: readonly ClaimedMessage[], acked: ReadonlySet<number>): number[] {
  const blocked = new Set<string>();
  const ids: number[] = [];
  for (const message of published) {
    if (blocked.has(message.orderId)) continue;
    if (acked.has(message.id)) ids.push(message.id);
    else blocked.add(message.orderId);
  }
  return ids;
}

/**
 * gapFreePrefix for a claim that counted, beside each claimed message (in id order), the unpublished
 * messages of its order before it (`earlier`): a message may go out when every one of those was
 * claimed before it in the same batch. One held by another relay, or published but not marked yet,
 * keeps it and the later ones of its order back.
 */
export function gapFreeByCount(claimed: readonly ClaimedMessage[], earlier: readonly number[]): ClaimedMessage[] {
  const claimedBefore = new Map<string, number>();
  return claimed.filter((message, i) => {
    const n = claimedBefore.get(message.orderId) ?? 0;
    claimedBefore.set(message.orderId, n + 1);
    return earlier[i] === n;
  });
}
