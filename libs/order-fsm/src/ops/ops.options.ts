import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { Caller } from '../model/event.js';

/**
 * How an order service mounts the operator API: who its callers are is the service's own business
 * (tokens, sessions, a gateway's headers); the module asks it, for each request, who sent it.
 */
export interface OrderFsmOpsOptions {
  /**
   * The caller of a request (the framework's request object: Fastify's or Express's), or undefined
   * when it carries no credentials the service knows (answered 401 UNAUTHENTICATED). Its `name` is
   * the operator's name in the log and the audit (1 to 64 characters, not starting with `@`).
   */
  callerOf: (request: unknown) => Caller | undefined | Promise<Caller | undefined>;
  /** The roles that may use the operator API; any other is answered 403 FORBIDDEN. Default `['operator']`. */
  roles?: readonly string[];
  /**
   * The operators' names that metrics label acts with (`order_fsm_operator_actions_total{actor}`);
   * anyone else is `other`. Default: the first 100 names seen, then `other`.
   */
  actors?: readonly string[];
  /**
   * How old the fleet's counts may be: of orders in states that are not final (few, moving: counted
   * often) and in final states (many, growing: counted seldom). Default 2 s and 60 s.
   */
  counts?: { liveMs?: number; finalMs?: number };
  /** The most orders (or dead letters) one bulk action may act on. Default 1,000. */
  maxBulk?: number;
  /** A message unpublished for longer than this makes its order stuck. Default 60 s. */
  unpublishedAfterMs?: number;
}

export interface ResolvedOpsOptions {
  readonly callerOf: OrderFsmOpsOptions['callerOf'];
  readonly roles: readonly string[];
  readonly actors?: ReadonlySet<string>;
  readonly counts: { readonly liveMs: number; readonly finalMs: number };
  readonly maxBulk: number;
  readonly unpublishedAfterMs: number;
}

export const OPS_OPTIONS = Symbol('order-fsm:ops-options');

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new Error(`order-fsm ops: "${name}" must be a positive number`);
  return value;
}

export function resolveOpsOptions(options: OrderFsmOpsOptions): ResolvedOpsOptions {
  if (typeof options?.callerOf !== 'function') throw new Error('order-fsm ops: "callerOf" must be a function (request) => { name, role } | undefined');
  const roles = options.roles ?? ['operator'];
  if (roles.length === 0 || roles.some((role) => typeof role !== 'string' || role.length === 0)) throw new Error('order-fsm ops: "roles" must name at least one role');
  return Object.freeze({
    callerOf: options.callerOf,
    roles: [...roles],
    ...(options.actors && { actors: new Set(options.actors) }),
    counts: { liveMs: positive('counts.liveMs', options.counts?.liveMs ?? 2_000), finalMs: positive('counts.finalMs', options.counts?.finalMs ?? 60_000) },
    maxBulk: positive('maxBulk', options.maxBulk ?? 1_000),
    unpublishedAfterMs: positive('unpublishedAfterMs', options.unpublishedAfterMs ?? 60_000),
  });
}

export const {
  ConfigurableModuleClass: ConfigurableOpsModule,
  MODULE_OPTIONS_TOKEN: OPS_MODULE_OPTIONS,
} = new ConfigurableModuleBuilder<OrderFsmOpsOptions>({ moduleName: 'OrderFsmOps' }).setClassMethodName('forRoot').build();
