import type { DataSource, EntityManager } from 'typeorm';
import { VersionConflictError } from '../errors/order-fsm.errors.js';
import type { FsmOrder } from '../engine/fsm-order.js';
import { translateDbError } from './db-errors.js';
import type { OrderStore, TransitionLogEntry, TransitionWrite } from './order-store.js';

interface OrderRow {
  id: string;
  biz_code: string;
  scene_id: string;
  state: string;
  version: number;
  data: string | Record<string, unknown> | null;
  created_at: Date;
  updated_at: Date;
}

interface TransitionRow {
  order_id: string;
  version: number;
  event: string;
  from_state: string;
  to_state: string;
  request_id: string;
  source: string;
  created_at: Date;
}

const parseData = (data: OrderRow['data']): Record<string, unknown> =>
  data == null ? {} : typeof data === 'string' ? JSON.parse(data) : data;

const SELECT_ORDER =
  'SELECT id, biz_code, scene_id, state, version, data, created_at, updated_at FROM fsm_order WHERE id = ?';
const INSERT_ORDER =
  'INSERT INTO fsm_order (id, biz_code, scene_id, state, version, data, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)';
// The fence: the row changes only if nobody moved it since it was read.
const UPDATE_ORDER =
  'UPDATE fsm_order SET state = ?, version = ?, data = ?, updated_at = ? WHERE id = ? AND version = ? AND state = ?';
const INSERT_TRANSITION =
  'INSERT INTO fsm_transition (order_id, version, event, from_state, to_state, request_id, source, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)';
const SELECT_TRANSITIONS =
  'SELECT order_id, version, event, from_state, to_state, request_id, source, created_at FROM fsm_transition WHERE order_id = ? ORDER BY version';

/** The OrderStore on a TypeORM DataSource (MySQL 8 or MariaDB 10.6+), over the tables of OrderFsmSchema. */
export class TypeOrmOrderStore implements OrderStore {
  constructor(private readonly dataSource: DataSource) {}

  async load(orderId: string): Promise<FsmOrder | null> {
    let rows: OrderRow[];
    try {
      rows = await this.dataSource.query(SELECT_ORDER, [orderId]);
    } catch (error) {
      throw translateDbError(error);
    }
    const row = rows[0];
    if (!row) return null;
    return {
      orderId: row.id,
      bizCode: row.biz_code,
      sceneId: row.scene_id,
      state: row.state,
      version: Number(row.version),
      data: parseData(row.data),
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  }

  async commit(write: TransitionWrite, work: (manager: EntityManager) => Promise<void>): Promise<FsmOrder> {
    const { order, toState, at } = write;
    const version = order.version + 1;
    try {
      await this.dataSource.transaction(async (manager) => {
        const runner = manager.queryRunner!;
        const data = JSON.stringify(order.data ?? {});
        if (order.version === 0) {
          await runner.query(INSERT_ORDER, [order.orderId, order.bizCode, order.sceneId, toState, version, data, at, at]);
        } else {
          const updated = await runner.query(
            UPDATE_ORDER,
            [toState, version, data, at, order.orderId, order.version, order.state],
            true,
          );
          if (updated.affected !== 1) throw new VersionConflictError(order.orderId, order.version);
        }
        await work(manager);
        await runner.query(INSERT_TRANSITION, [
          order.orderId,
          version,
          write.event,
          order.state,
          toState,
          write.requestId,
          write.source,
          at,
        ]);
      });
    } catch (error) {
      throw translateDbError(error, write);
    }
    return { ...order, state: toState, version, createdAt: order.version === 0 ? at : order.createdAt, updatedAt: at };
  }

  async listTransitions(orderId: string): Promise<TransitionLogEntry[]> {
    let rows: TransitionRow[];
    try {
      rows = await this.dataSource.query(SELECT_TRANSITIONS, [orderId]);
    } catch (error) {
      throw translateDbError(error);
    }
    return rows.map((row) => ({
      orderId: row.order_id,
      version: Number(row.version),
      event: row.event,
      fromState: row.from_state,
      toState: row.to_state,
      requestId: row.request_id,
      source: row.source,
      createdAt: row.created_at,
    }));
  }
}
