// A signal that aborts when its parent does or when time is up, and lets go of both once the work is
// done. `AbortSignal.any([parent, AbortSignal.timeout(ms)])` costs several times more per call, and
// its timer and composite signal live on until the time would have been up: at hundreds of
// messages a second, thousands of them at once.

export interface Deadline {
  readonly signal: AbortSignal;
  /** Stops the timer and detaches from the parent; call it when the work is done, whatever its outcome. */
  done(): void;
}

/** `onExpire` gets the reason just before the signal aborts for lack of time (not when the parent aborts). */
export function deadline(parent: AbortSignal, ms: number, reason: () => Error, onExpire?: (reason: Error) => void): Deadline {
  const controller = new AbortController();
  if (parent.aborted) {
    controller.abort(parent.reason);
    return { signal: controller.signal, done() {} };
  }
  const onParentAbort = () => controller.abort(parent.reason);
  parent.addEventListener('abort', onParentAbort, { once: true });
  const timer = setTimeout(() => {
    parent.removeEventListener('abort', onParentAbort);
    const why = reason();
    onExpire?.(why);
    controller.abort(why);
  }, ms);
  return {
    signal: controller.signal,
    done() {
      clearTimeout(timer);
      parent.removeEventListener('abort', onParentAbort);
    },
  };
}
