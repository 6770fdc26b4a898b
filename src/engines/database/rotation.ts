import type { DatabaseEngine } from './engine.js';
import { nextCronTime, parseCron } from './cron.js';
import { configForRole, readStaticRole, storageKeys, writeStaticRole, type StaticRole } from './model.js';

/** Timing of the rotation scheduler, in milliseconds; tests shorten them. */
export interface RotationTiming {
  /** Maximum sleep between checks, so a clock jump is noticed. */
  maxSleepMs: number;
  /** Wait after the first failed rotation; each further failure doubles it. */
  retryBaseMs: number;
  retryMaxMs: number;
}

export const DEFAULT_ROTATION_TIMING: RotationTiming = {
  maxSleepMs: 60_000,
  retryBaseMs: 10_000,
  retryMaxMs: 5 * 60_000,
};

/**
 * Rotates static role passwords when their `next_rotation` time comes. The times live in storage,
 * so a restart picks up where the last run stopped; one timer sleeps until the earliest of them.
 * A failed rotation keeps the old password valid and is retried with exponential backoff.
 */
export class RotationScheduler {
  private readonly due = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private stopped = true;

  constructor(
    private readonly engine: DatabaseEngine,
    private readonly timing: RotationTiming = DEFAULT_ROTATION_TIMING,
  ) {}

  /** Loads every static role's next rotation from storage and starts the timer. */
  async start(): Promise<void> {
    this.stopped = false;
    const storage = this.engine.backend.storage;
    for (const name of await storage.list(storageKeys.staticRolePrefix)) {
      const role = await readStaticRole(storage, name);
      // A pending password means a rotation was cut short, so finish it at once.
      if (role) this.due.set(name, role.pending_password ? 0 : role.next_rotation);
    }
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.due.clear();
  }

  /** Records when a role rotates next and rearms the timer. */
  schedule(name: string, atMs: number): void {
    this.due.set(name, atMs);
    this.arm();
  }

  remove(name: string): void {
    this.due.delete(name);
  }

  /**
   * Rotates one static role's password now. On success the new password is stored and the next
   * rotation scheduled. On failure the old password stays valid and the error is recorded; a
   * scheduled rotation also gets a retry. Throws the failure.
   */
  async rotate(name: string, trigger: 'manual' | 'scheduled'): Promise<void> {
    await this.engine.locks.run(`static:${name}`, () => this.rotateLocked(name, trigger));
  }

  private async rotateLocked(name: string, trigger: 'manual' | 'scheduled'): Promise<void> {
    const storage = this.engine.backend.storage;
    const role = await readStaticRole(storage, name);
    if (role === null) {
      this.remove(name);
      return;
    }
    const now = Date.now();
    try {
      const config = await configForRole(storage, role.db_name, name);
      const { plugin } = await this.engine.plugin(role.db_name);
      // Reuse a pending password so a retry after a crash sets the same one the database may have.
      const password = role.pending_password ?? (await this.engine.generatePassword(config));
      await writeStaticRole(storage, name, { ...role, pending_password: password });
      await plugin.setPassword({ username: role.username, password, statements: role.rotation_statements });

      const next = nextRotationAfterSuccess(role, now);
      const rotated: StaticRole = { ...role, password, last_vault_rotation: now, next_rotation: next, scheduled_rotation: next, failed_attempts: 0 };
      delete rotated.pending_password;
      delete rotated.last_error;
      await writeStaticRole(storage, name, rotated);
      this.schedule(name, next);
      this.engine.backend.logger.info({ static_role: name, db_name: role.db_name, trigger }, 'rotated a static role password');
    } catch (err) {
      await this.recordFailure(name, role, now, trigger, err);
      throw err;
    }
  }

  private async recordFailure(name: string, role: StaticRole, now: number, trigger: 'manual' | 'scheduled', err: unknown): Promise<void> {
    const message = err instanceof Error ? err.message : String(err);
    const storage = this.engine.backend.storage;
    // The database refused the pending password, so drop it: the old password is still valid.
    const failed: StaticRole = { ...role, last_error: message, failed_attempts: role.failed_attempts + 1 };
    delete failed.pending_password;
    if (trigger === 'scheduled') failed.next_rotation = nextRotationAfterFailure(failed, now, this.timing);
    try {
      await writeStaticRole(storage, name, failed);
    } catch (storeErr) {
      this.engine.backend.logger.error({ static_role: name, error: String(storeErr) }, 'recording a failed rotation failed');
    }
    this.schedule(name, failed.next_rotation);
    this.engine.backend.logger.error(
      { static_role: name, db_name: role.db_name, trigger, attempts: failed.failed_attempts, error: message },
      'rotating a static role password failed; the old password stays valid',
    );
  }

  private arm(): void {
    if (this.stopped || this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.due.size === 0) return;
    const earliest = Math.min(...this.due.values());
    const delay = Math.min(Math.max(earliest - Date.now(), 0), this.timing.maxSleepMs);
    this.timer = setTimeout(() => void this.runDue(), delay);
    // Pending rotations must not keep a process alive that is otherwise shutting down.
    this.timer.unref();
  }

  private async runDue(): Promise<void> {
    this.timer = null;
    this.running = true;
    try {
      const now = Date.now();
      const names = [...this.due].filter(([, at]) => at <= now).map(([name]) => name);
      for (const name of names) {
        if (this.stopped) return;
        // Failures are logged and recorded by `rotate`; the next attempt is already scheduled.
        await this.rotate(name, 'scheduled').catch(() => undefined);
      }
    } finally {
      this.running = false;
      this.arm();
    }
  }
}

/** Computes the next rotation time of a role that has just been written or rotated. */
export function nextRotationAfterSuccess(role: Pick<StaticRole, 'rotation_period' | 'rotation_schedule'>, now: number): number {
  if (role.rotation_schedule !== '') return nextCronTime(parseCron(role.rotation_schedule), now) ?? Number.MAX_SAFE_INTEGER;
  return now + role.rotation_period * 1000;
}

/**
 * When to try again after a failure: after an exponential backoff, unless that falls outside the
 * rotation window of a scheduled role, in which case its next scheduled time.
 */
function nextRotationAfterFailure(role: StaticRole, now: number, timing: RotationTiming): number {
  const backoff = Math.min(timing.retryBaseMs * 2 ** Math.min(role.failed_attempts - 1, 20), timing.retryMaxMs);
  const retryAt = now + backoff;
  if (role.rotation_schedule === '' || role.rotation_window === 0) return retryAt;
  const windowEnd = role.scheduled_rotation + role.rotation_window * 1000;
  if (retryAt <= windowEnd) return retryAt;
  return nextCronTime(parseCron(role.rotation_schedule), windowEnd) ?? Number.MAX_SAFE_INTEGER;
}
