import { Injectable } from '@nestjs/common';

/**
 * Tells who waits on new outbox rows (the relay) that a transition committed in this process. The
 * engine signals; the relay subscribes here, not on the engine: the arrow goes one way.
 */
@Injectable()
export class CommitSignal {
  private readonly waiting: Array<() => void> = [];

  /** Called by the engine after each commit. */
  committed(): void {
    for (const wake of this.waiting) wake();
  }

  /** Called by a worker at startup: `wake` runs after every commit from then on. */
  subscribe(wake: () => void): void {
    this.waiting.push(wake);
  }
}
