import type { Logger } from '@nestjs/common';

/**
 * Runs `step` again and again: at once while it says there is more, after `intervalMs` otherwise, and
 * backing off (up to 5 s) while it fails. wake() cuts a pause short; stop() waits for the step in flight.
 */
export class BackgroundLoop {
  private running = false;
  private current?: Promise<void>;
  private wakeUp?: () => void;
  private wakePending = false;

  constructor(
    private readonly name: string,
    private readonly logger: Logger,
    private readonly intervalMs: number,
    private readonly step: () => Promise<boolean>,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.current = this.loop();
  }

  wake(): void {
    this.wakePending = true;
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wakeUp?.();
    await this.current;
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (this.running) {
      let more = false;
      try {
        more = await this.step();
        if (failures > 0) this.logger.log(`${this.name} recovered after ${failures} failed attempt(s)`);
        failures = 0;
      } catch (error) {
        failures++;
        if (failures === 1 || failures % 50 === 0) this.logger.warn(`${this.name} failed (${failures}x): ${(error as Error).message}`);
      }
      if (!this.running) break;
      if (more && failures === 0) continue;
      await this.pause(failures > 0 ? Math.min(this.intervalMs * 2 ** Math.min(failures, 6), 5_000) : this.intervalMs);
    }
  }

  private pause(ms: number): Promise<void> {
    if (this.wakePending) {
      this.wakePending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        this.wakePending = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }
}
