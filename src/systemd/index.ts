/**
 * The systemd subsystem's public surface (what src/daemon and src/shim import):
 * systemd and machined clients over one system bus connection, unit naming,
 * typed unit properties, cgroup readers and sd_notify.
 */
export { SystemBus, type SystemBusOptions } from './bus.js';
export { createSystemd, DBusSystemd, type Systemd, type SystemdOptions, type ScopeProperties, type UnitState, type UnitInfo, type KillWhom, type JobOptions } from './systemd.js';
export { createMachined, DBusMachined, isValidMachineName, MACHINE_NAME_MAX, type Machined, type MachinedOptions, type MachineRegistration, type MachineInfo, type MachineListEntry } from './machined.js';
export { unitProperty, type UnitProperty } from './properties.js';
export { scopeUnitName, cgroupsPath, cpuQuotaPerSecUSec, unitObjectPath, busLabelEscape, cpusetToBits, UINT64_MAX, DEFAULT_CPU_QUOTA_PERIOD_US } from './units.js';
export { readCgroupLimits, readOomKills, detectCgroupLayout, DEFAULT_CGROUP_ROOT, type CgroupLimits, type CgroupLayout } from './cgroupfs.js';
export { notifyReady, notifyStopping, notifyStatus } from './notify.js';
export type { JobResult } from './jobs.js';
