import { failedPrecondition, notFound } from '../../errors.js';
import type { ShimConnection } from '../../shim/client.js';
import type { ExitInfo, ShimMethod, ShimMethods, StateResult } from '../../shim/protocol.js';
import { Runc } from '../../shim/runc.js';

/**
 * Stands in for a shim that is gone (killed, or lost across a restart) so a
 * task stays visible as stopped, with the reason, until it is deleted. The
 * delete removes what runc left, from the daemon side.
 */
export class LostShim implements ShimConnection {
  private deleted = false;

  constructor(
    private readonly id: string,
    private readonly bundle: string,
    private readonly exit: ExitInfo,
    private readonly runc: Runc,
  ) {}

  async call<M extends ShimMethod>(method: M, _params: ShimMethods[M]['params']): Promise<ShimMethods[M]['result']> {
    const result = await this.answer(method);
    return result as ShimMethods[M]['result'];
  }

  private async answer(method: ShimMethod): Promise<unknown> {
    switch (method) {
      case 'state': {
        const state: StateResult = { id: this.id, pid: this.exit.pid, status: this.deleted ? 'deleted' : 'stopped', bundle: this.bundle, exit: this.exit };
        return state;
      }
      case 'wait':
        return this.exit;
      case 'delete':
        // Whatever runc still holds (a container whose shim died mid-life) goes now.
        await this.runc.delete(this.id, this.bundle, true).catch(() => {});
        this.deleted = true;
        return this.exit;
      case 'kill':
        throw notFound(`task ${this.id}: process already finished (its shim is gone)`);
      case 'pause':
      case 'resume':
      case 'resize':
      case 'closeIO':
        throw failedPrecondition(`task ${this.id} has stopped (its shim is gone)`);
      case 'pids':
        return { pids: [] };
      case 'start':
      case 'create':
      case 'exec':
        throw notFound(`task ${this.id}: its shim is gone`);
      case 'shutdown':
        return {};
    }
  }

  onExit(): () => void {
    return () => {};
  }
  onLost(): void {}
  onExecExit(): void {}
  close(): void {}
}
