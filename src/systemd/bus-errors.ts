/**
 * Translation of D-Bus failures into the project's closed error set, in one
 * place, so every systemd/machined call reports "unit missing", "bus down"
 * and "systemd refused" the same way.
 */
import { RuntimeError, type ErrorKind } from '../errors.js';

/** D-Bus error names the driver reacts to (systemd 252 bus-common-errors.h, dbus-daemon). */
export const DBusErrorName = {
  NoSuchUnit: 'org.freedesktop.systemd1.NoSuchUnit',
  NoUnitForPID: 'org.freedesktop.systemd1.NoUnitForPID',
  NoSuchJob: 'org.freedesktop.systemd1.NoSuchJob',
  UnitExists: 'org.freedesktop.systemd1.UnitExists',
  UnitInactive: 'org.freedesktop.systemd1.UnitInactive',
  AlreadySubscribed: 'org.freedesktop.systemd1.AlreadySubscribed',
  NoSuchMachine: 'org.freedesktop.machine1.NoSuchMachine',
  NoMachineForPID: 'org.freedesktop.machine1.NoMachineForPID',
  MachineExists: 'org.freedesktop.machine1.MachineExists',
  InvalidArgs: 'org.freedesktop.DBus.Error.InvalidArgs',
  ServiceUnknown: 'org.freedesktop.DBus.Error.ServiceUnknown',
  NameHasNoOwner: 'org.freedesktop.DBus.Error.NameHasNoOwner',
  NoServer: 'org.freedesktop.DBus.Error.NoServer',
  Disconnected: 'org.freedesktop.DBus.Error.Disconnected',
  NoReply: 'org.freedesktop.DBus.Error.NoReply',
  Timeout: 'org.freedesktop.DBus.Error.Timeout',
} as const;

const kindByName: Record<string, ErrorKind> = {
  [DBusErrorName.NoSuchUnit]: 'NotFound',
  [DBusErrorName.NoUnitForPID]: 'NotFound',
  [DBusErrorName.NoSuchJob]: 'NotFound',
  [DBusErrorName.NoSuchMachine]: 'NotFound',
  [DBusErrorName.NoMachineForPID]: 'NotFound',
  [DBusErrorName.UnitExists]: 'AlreadyExists',
  [DBusErrorName.UnitInactive]: 'FailedPrecondition',
  [DBusErrorName.MachineExists]: 'AlreadyExists',
  [DBusErrorName.InvalidArgs]: 'InvalidArgument',
  [DBusErrorName.ServiceUnknown]: 'Unavailable',
  [DBusErrorName.NameHasNoOwner]: 'Unavailable',
  [DBusErrorName.NoServer]: 'Unavailable',
  [DBusErrorName.Disconnected]: 'Unavailable',
  [DBusErrorName.NoReply]: 'DeadlineExceeded',
  [DBusErrorName.Timeout]: 'DeadlineExceeded',
};

/** Where a failed call was going, kept in the error's fields. */
export interface CallSite {
  destination: string;
  path: string;
  interface: string;
  member: string;
}

/** An error reply from the peer (the D-Bus error name and text). */
export function fromDBusError(name: string, text: string, site: CallSite): RuntimeError {
  const kind = kindByName[name] ?? 'Internal';
  return new RuntimeError(kind, `${site.member}: ${text || name}`, {
    fields: { dbusError: name, method: `${site.interface}.${site.member}`, path: site.path },
  });
}

/** The bus connection itself failed (socket missing, closed, dbus restarted). */
export function connectionFailed(cause: unknown, site?: CallSite): RuntimeError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new RuntimeError('Unavailable', `system bus unavailable: ${reason}`, {
    cause,
    fields: site ? { method: `${site.interface}.${site.member}`, path: site.path } : {},
  });
}

/** No reply within the call's timeout. */
export function callTimedOut(site: CallSite, timeoutMs: number): RuntimeError {
  return new RuntimeError('DeadlineExceeded', `${site.member}: no reply from ${site.destination} within ${timeoutMs}ms`, {
    fields: { method: `${site.interface}.${site.member}`, path: site.path, timeoutMs },
  });
}

/** True when `err` is a RuntimeError produced from the given D-Bus error name. */
export function isDBusError(err: unknown, name: string): boolean {
  return err instanceof RuntimeError && err.fields['dbusError'] === name;
}
