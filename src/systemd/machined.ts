/**
 * The runtime's view of systemd-machined (org.freedesktop.machine1): each
 * container is registered as a machine (name = container id, class
 * `container`, service `containerd-ts`) so `machinectl` lists it.
 * RegisterMachine, not CreateMachine: it adopts the leader's existing scope
 * (runc's `containerd-<id>.scope`) instead of moving the process.
 */
import { invalidArgument, isRuntimeError } from '../errors.js';
import { SystemBus } from './bus.js';
import { isDBusError } from './bus-errors.js';
import { arr, num, str, struct } from './decode.js';

/** What RegisterMachine needs for one container. */
export interface MachineRegistration {
  /** Machine name: the container id (check `isValidMachineName` first). */
  name: string;
  /** The container's init pid (after `runc create`); its unit becomes the machine's unit. */
  leaderPid: number;
  /** Defaults to `containerd-ts`. */
  service?: string;
  /** Defaults to `container`. */
  class?: 'container' | 'vm';
  /** The container's rootfs (absolute) or '' for none. */
  rootDirectory?: string;
}

/** A registered machine as machined reports it. */
export interface MachineInfo {
  name: string;
  /** The unit holding the machine (the container's scope). */
  unit: string;
  leader: number;
  /** opening | running | closing */
  state: string;
  class: string;
  service: string;
  rootDirectory: string;
}

/** One row of ListMachines. */
export interface MachineListEntry {
  name: string;
  class: string;
  service: string;
  path: string;
}

/** machined operations the runtime uses; every failure is a RuntimeError. */
export interface Machined {
  /** Registers the machine and returns its object path; InvalidArgument for names machined refuses, AlreadyExists if taken. */
  registerMachine(reg: MachineRegistration): Promise<string>;
  /** TerminateMachine (machined stops the machine's unit, killing its processes); false when no such machine. */
  terminateMachine(name: string): Promise<boolean>;
  /** The machine's unit, leader and state, or null when not registered. */
  getMachine(name: string): Promise<MachineInfo | null>;
  /** All registered machines. */
  listMachines(): Promise<MachineListEntry[]>;
  /** Releases the bus connection if this instance opened it. */
  close(): void;
}

/** Options for `createMachined`. */
export interface MachinedOptions {
  /** Share a connection (e.g. with Systemd); when omitted a private one is opened and `close()` closes it. */
  bus?: SystemBus;
}

/** Builds the D-Bus backed Machined. */
export function createMachined(options: MachinedOptions = {}): Machined {
  return new DBusMachined(options);
}

/** Linux HOST_NAME_MAX: machined's upper bound for a machine name. */
export const MACHINE_NAME_MAX = 64;

/**
 * Whether machined (systemd 252) accepts `name` as a machine name: its
 * hostname_is_valid() — ASCII letters, digits, '-' and '.', 1..64 chars, no
 * leading/trailing '.' or '-', no '..', no '-' right after a '.' or right
 * before one, and not the reserved ".host". Container ids with '_' or longer
 * than 64 chars are refused: the caller decides (skip registration or fail).
 */
export function isValidMachineName(name: string): boolean {
  if (name.length === 0 || name.length > MACHINE_NAME_MAX || name === '.host') return false;
  let dot = true; // "previous char was a dot" — true at the start, so no leading '.' or '-'
  let hyphen = true;
  for (const c of name) {
    if (c === '.') {
      if (dot || hyphen) return false;
      dot = true;
      hyphen = false;
    } else if (c === '-') {
      if (dot) return false;
      dot = false;
      hyphen = true;
    } else {
      if (!/^[A-Za-z0-9]$/.test(c)) return false;
      dot = false;
      hyphen = false;
    }
  }
  return !dot && !hyphen;
}

const DEST = 'org.freedesktop.machine1';
const PATH = '/org/freedesktop/machine1';
const MANAGER_IFACE = 'org.freedesktop.machine1.Manager';
const MACHINE_IFACE = 'org.freedesktop.machine1.Machine';
const UNKNOWN_OBJECT = 'org.freedesktop.DBus.Error.UnknownObject';

/** Machined over the system bus (D-Bus activated systemd-machined). */
export class DBusMachined implements Machined {
  private readonly bus: SystemBus;
  private readonly ownsBus: boolean;

  constructor(options: MachinedOptions = {}) {
    this.bus = options.bus ?? new SystemBus();
    this.ownsBus = options.bus === undefined;
  }

  async registerMachine(reg: MachineRegistration): Promise<string> {
    if (!isValidMachineName(reg.name)) throw invalidArgument(`machined refuses machine name ${JSON.stringify(reg.name)}`, { fields: { machine: reg.name } });
    if (!Number.isInteger(reg.leaderPid) || reg.leaderPid <= 1) throw invalidArgument('invalid leader pid', { fields: { pid: reg.leaderPid } });
    const root = reg.rootDirectory ?? '';
    if (root !== '' && !root.startsWith('/')) throw invalidArgument('rootDirectory must be absolute', { fields: { rootDirectory: root } });
    const body = [reg.name, Buffer.alloc(0), reg.service ?? 'containerd-ts', reg.class ?? 'container', reg.leaderPid, root];
    const [path] = await this.manager('RegisterMachine', 'sayssus', body);
    return str(path, 'machine path');
  }

  async terminateMachine(name: string): Promise<boolean> {
    try {
      await this.manager('TerminateMachine', 's', [name]);
      return true;
    } catch (err) {
      if (isRuntimeError(err, 'NotFound')) return false;
      throw err;
    }
  }

  async getMachine(name: string): Promise<MachineInfo | null> {
    let path: string;
    try {
      const [p] = await this.manager('GetMachine', 's', [name]);
      path = str(p, 'machine path');
    } catch (err) {
      if (isRuntimeError(err, 'NotFound')) return null;
      throw err;
    }
    let props: Record<string, unknown>;
    try {
      props = await this.bus.getAllProperties(DEST, path, MACHINE_IFACE);
    } catch (err) {
      if (isDBusError(err, UNKNOWN_OBJECT)) return null; // unregistered meanwhile
      throw err;
    }
    return {
      name: str(props['Name'], 'Machine.Name'),
      unit: str(props['Unit'], 'Machine.Unit'),
      leader: num(props['Leader'], 'Machine.Leader'),
      state: str(props['State'], 'Machine.State'),
      class: str(props['Class'], 'Machine.Class'),
      service: str(props['Service'], 'Machine.Service'),
      rootDirectory: str(props['RootDirectory'], 'Machine.RootDirectory'),
    };
  }

  async listMachines(): Promise<MachineListEntry[]> {
    const [rows] = await this.manager('ListMachines', '', []);
    return arr(rows, 'ListMachines').map((row) => {
      const r = struct(row, 4, 'machine row');
      return { name: str(r[0], 'name'), class: str(r[1], 'class'), service: str(r[2], 'service'), path: str(r[3], 'path') };
    });
  }

  close(): void {
    if (this.ownsBus) this.bus.close();
  }

  private manager(member: string, signature: string, body: unknown[]): Promise<unknown[]> {
    return this.bus.call({ destination: DEST, path: PATH, interface: MANAGER_IFACE, member, signature, body });
  }
}
