// The order in which the benchmarks run their sides' slices (bench/stats.mjs). A pure function, in the
// unit project: a wrong order would favour one side of every comparison without any error.
import { sliceOrder } from './stats.mjs';

/** How often each ordered pair (before -> after) occurs in `sequence`, as "before>after" keys. */
const pairs = (sequence) => {
  const counts = {};
  for (let i = 1; i < sequence.length; i++) {
    const key = `${sequence[i - 1]}>${sequence[i]}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
};
const count = (sequence, side) => sequence.filter((s) => s === side).length;
const meanPosition = (sequence, side) => {
  const at = sequence.flatMap((s, i) => (s === side ? [i] : []));
  return at.reduce((a, b) => a + b, 0) / at.length;
};

describe('sliceOrder', () => {
  it('gives two sides A B B A, repeated: each after the other once a block, after itself once', () => {
    expect(sliceOrder(2, 2)).toEqual([0, 1, 1, 0]);
    const order = sliceOrder(2, 6);
    expect(order).toEqual([0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0]);
    for (let block = 0; block < 3; block++) {
      expect(pairs(order.slice(block * 4, block * 4 + 4))).toEqual({ '0>1': 1, '1>1': 1, '1>0': 1 });
    }
    // As early on average.
    expect(meanPosition(order, 0)).toBe(meanPosition(order, 1));
  });

  it('gives three sides an order in which, after the warm-up, each follows each other twice a block and never itself', () => {
    const order = sliceOrder(3, 8);
    expect(order).toHaveLength(24);
    for (const side of [0, 1, 2]) expect(count(order, side)).toBe(8);
    // The warm-up runs the sides in order, so the last slice before the first counted one is side 2's.
    const counts = pairs([2, ...order]);
    expect(counts).toEqual({ '0>1': 4, '0>2': 4, '1>0': 4, '1>2': 4, '2>0': 4, '2>1': 4 });
    // Mean positions within a block (0-based): 5.25, 5.5, 5.75, none far earlier than another.
    const block = order.slice(0, 12);
    expect([0, 1, 2].map((side) => meanPosition(block, side))).toEqual([5.25, 5.5, 5.75]);
  });

  it('mirrors the rounds of four sides or more', () => {
    expect(sliceOrder(4, 4)).toEqual([0, 1, 2, 3, 3, 2, 1, 0, 0, 1, 2, 3, 3, 2, 1, 0]);
    for (const side of [0, 1, 2, 3]) expect(meanPosition(sliceOrder(4, 4), side)).toBe(7.5);
  });

  it('refuses a number of slices that cannot be balanced', () => {
    expect(() => sliceOrder(2, 3)).toThrow('2 sides take slices in multiples of 2 a side, not 3');
    expect(() => sliceOrder(3, 6)).toThrow('3 sides take slices in multiples of 4 a side, not 6');
    expect(() => sliceOrder(4, 3)).toThrow('4 sides take slices in multiples of 2 a side, not 3');
  });
});
