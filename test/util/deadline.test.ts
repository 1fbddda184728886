import { describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { deadline } from '../../src/util/deadline.ts';

const late = () => new Error('time is up');

describe('deadline', () => {
  it('aborts when time is up, telling onExpire first', async () => {
    const order: string[] = [];
    const time = deadline(new AbortController().signal, 20, late, (reason) => order.push(`expire: ${reason.message}`));
    time.signal.addEventListener('abort', () => order.push(`abort: ${(time.signal.reason as Error).message}`));
    await sleep(60);
    expect(order).toEqual(['expire: time is up', 'abort: time is up']);
  });

  it('aborts with the parent, and at once when the parent has already aborted', () => {
    const parent = new AbortController();
    const time = deadline(parent.signal, 10_000, late);
    parent.abort(new Error('client gone'));
    expect((time.signal.reason as Error).message).toBe('client gone');
    time.done();
    expect((deadline(parent.signal, 10_000, late).signal.reason as Error).message).toBe('client gone');
  });

  it('once done, neither the time nor the parent aborts it', async () => {
    const parent = new AbortController();
    let expired = false;
    const time = deadline(parent.signal, 20, late, () => { expired = true; });
    time.done();
    parent.abort();
    await sleep(60);
    expect(time.signal.aborted).toBe(false);
    expect(expired).toBe(false);
  });
});
