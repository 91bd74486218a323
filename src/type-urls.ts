/** Well-known type URLs used by containerd 1.6 clients (ctr). */
export const TYPE_URLS = {
  /** Container.spec: JSON-encoded OCI runtime spec */
  spec: 'types.containerd.io/opencontainers/runtime-spec/1/Spec',
  /** ExecProcessRequest.spec: JSON-encoded OCI process */
  process: 'types.containerd.io/opencontainers/runtime-spec/1/Process',
  /** UpdateTaskRequest.resources: JSON-encoded OCI LinuxResources */
  linuxResources: 'types.containerd.io/opencontainers/runtime-spec/1/LinuxResources',
  /** UpdateTaskRequest.resources on Windows */
  windowsResources: 'types.containerd.io/opencontainers/runtime-spec/1/WindowsResources',
  /** runtime options of io.containerd.runc.v1/v2 (protobuf) */
  runcV1Options: 'containerd.runc.v1.Options',
  /** runtime options of io.containerd.runtime.v1.linux (protobuf) */
  linuxRuncOptions: 'containerd.linux.runc.RuncOptions',
  /** task create options of io.containerd.runtime.v1.linux (protobuf) */
  linuxRuncCreateOptions: 'containerd.linux.runc.CreateOptions',
} as const;
