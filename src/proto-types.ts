/**
 * TypeScript shapes of the containerd 1.6 v1 API messages (see proto/).
 *
 * Message interfaces describe objects exactly as @grpc/proto-loader / protobufjs
 * produce them with the options used in src/proto.ts
 * (keepCase, longs: String, enums: String, defaults: true, oneofs: true):
 *   - field names are the proto names (snake_case);
 *   - 64-bit integers are decimal strings (`Int64`);
 *   - enums are their value names (string literal unions);
 *   - bytes are Buffers;
 *   - unset singular message fields are `null`, repeated fields are `[]`, maps are `{}`.
 *
 * When *sending* a message (a server response, a client request, encodeMessage)
 * every field may be omitted: use `Init<T>`.
 *
 * The message interfaces, enum unions, MessageTypeMap and the per-service method
 * maps below the marker line were generated from the proto files by reflection; if
 * you change proto/, update them (test/unit/proto.test.ts checks the message list).
 */
import type * as grpc from '@grpc/grpc-js';

// ---------------------------------------------------------------------------
// Scalars and well-known types
// ---------------------------------------------------------------------------

/** A proto int64/uint64 as decoded with `longs: String` (decimal string). */
export type Int64 = string;

/** google.protobuf.Timestamp */
export interface Timestamp {
  seconds: Int64;
  nanos: number;
}

/** google.protobuf.Duration */
export interface Duration {
  seconds: Int64;
  nanos: number;
}

/**
 * google.protobuf.Any. containerd type URLs are bare message names
 * (e.g. "containerd.events.TaskExit", "containerd.runc.v1.Options") or, for
 * JSON payloads, "types.containerd.io/opencontainers/runtime-spec/1/Spec" etc.
 */
export interface Any {
  type_url: string;
  value: Buffer;
}

/** google.protobuf.Empty */
export type Empty = Record<string, never>;

/** google.protobuf.FieldMask */
export interface FieldMask {
  paths: string[];
}

// ---------------------------------------------------------------------------
// Input ("init") shapes
// ---------------------------------------------------------------------------

/** What protobufjs accepts for a Timestamp/Duration when serializing. */
export interface TimestampInit {
  seconds?: Int64 | number | null;
  nanos?: number | null;
}

/**
 * The shape accepted when serializing a message of type T: every field optional
 * (omitted/null = proto default), nested messages likewise, bytes may be any
 * Uint8Array, timestamps may use a number for `seconds`.
 */
export type Init<T> = T extends Buffer
  ? Buffer | Uint8Array
  : T extends readonly (infer U)[]
    ? Init<U>[]
    : T extends string | number | boolean
      ? T
      : T extends Timestamp
        ? TimestampInit
        : T extends object
          ? { [K in keyof T]?: Init<T[K]> | null }
          : T;

// ---------------------------------------------------------------------------
// Service typing helpers
// ---------------------------------------------------------------------------

/** Streaming kind of an RPC. */
export type RpcKind = 'unary' | 'serverStream' | 'clientStream' | 'bidi';

/** Type-level description of one RPC (phantom type; never a runtime value). */
export interface Rpc<K extends RpcKind, Req, Res> {
  readonly kind: K;
  readonly request: Req;
  readonly response: Res;
}

/**
 * Server-side handler map for a service method map M. Handlers receive requests
 * in decoded shape and may answer with `Init<Response>`.
 * Use it as e.g. `const impl: ServiceHandlers<VersionMethods> = { Version(call, cb) {...} }`
 * and `server.addService(api.services.version.service, impl)`.
 */
export type ServiceHandlers<M> = {
  [K in keyof M]: M[K] extends Rpc<'unary', infer Q, infer R>
    ? grpc.handleUnaryCall<Q, Init<R>>
    : M[K] extends Rpc<'serverStream', infer Q, infer R>
      ? grpc.handleServerStreamingCall<Q, Init<R>>
      : M[K] extends Rpc<'clientStream', infer Q, infer R>
        ? grpc.handleClientStreamingCall<Q, Init<R>>
        : M[K] extends Rpc<'bidi', infer Q, infer R>
          ? grpc.handleBidiStreamingCall<Q, Init<R>>
          : never;
};

export interface UnaryClientMethod<Req, Res> {
  (request: Init<Req>, callback: grpc.requestCallback<Res>): grpc.ClientUnaryCall;
  (request: Init<Req>, metadata: grpc.Metadata, callback: grpc.requestCallback<Res>): grpc.ClientUnaryCall;
  (
    request: Init<Req>,
    metadata: grpc.Metadata,
    options: Partial<grpc.CallOptions>,
    callback: grpc.requestCallback<Res>,
  ): grpc.ClientUnaryCall;
}

export type ServerStreamClientMethod<Req, Res> = (
  request: Init<Req>,
  metadata?: grpc.Metadata,
  options?: Partial<grpc.CallOptions>,
) => grpc.ClientReadableStream<Res>;

export interface ClientStreamClientMethod<Req, Res> {
  (callback: grpc.requestCallback<Res>): grpc.ClientWritableStream<Init<Req>>;
  (metadata: grpc.Metadata, callback: grpc.requestCallback<Res>): grpc.ClientWritableStream<Init<Req>>;
  (
    metadata: grpc.Metadata,
    options: Partial<grpc.CallOptions>,
    callback: grpc.requestCallback<Res>,
  ): grpc.ClientWritableStream<Init<Req>>;
}

export type BidiClientMethod<Req, Res> = (
  metadata?: grpc.Metadata,
  options?: Partial<grpc.CallOptions>,
) => grpc.ClientDuplexStream<Init<Req>, Res>;

/** A grpc-js client for a service method map M (method names as in the proto). */
export type ServiceClient<M> = grpc.Client & {
  [K in keyof M]: M[K] extends Rpc<'unary', infer Q, infer R>
    ? UnaryClientMethod<Q, R>
    : M[K] extends Rpc<'serverStream', infer Q, infer R>
      ? ServerStreamClientMethod<Q, R>
      : M[K] extends Rpc<'clientStream', infer Q, infer R>
        ? ClientStreamClientMethod<Q, R>
        : M[K] extends Rpc<'bidi', infer Q, infer R>
          ? BidiClientMethod<Q, R>
          : never;
};

export type ServiceClientConstructor<M> = new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: Partial<grpc.ClientOptions>,
) => ServiceClient<M>;

// ---------------------------------------------------------------------------
// ---- generated below this line (message shapes, enums, method maps) ----
// ---------------------------------------------------------------------------

// github.com/containerd/containerd/api/types/descriptor.proto

/** containerd.types.Descriptor */
export interface Descriptor {
  media_type: string; // 1
  digest: string; // 2
  size: Int64; // 3
  annotations: Record<string, string>; // 5
}

// github.com/containerd/containerd/api/types/mount.proto

/** containerd.types.Mount */
export interface Mount {
  type: string; // 1
  source: string; // 2
  target: string; // 3
  options: string[]; // 4
}

// github.com/containerd/containerd/api/types/platform.proto

/** containerd.types.Platform */
export interface Platform {
  os: string; // 1
  architecture: string; // 2
  variant: string; // 3
}

// github.com/containerd/containerd/api/types/metrics.proto

/** containerd.types.Metric */
export interface Metric {
  timestamp: Timestamp | null; // 1
  id: string; // 2
  data: Any | null; // 3
}

// github.com/containerd/containerd/api/types/task/task.proto

/** enum containerd.v1.types.Status */
export type ProcessStatus = 'UNKNOWN' | 'CREATED' | 'RUNNING' | 'STOPPED' | 'PAUSED' | 'PAUSING';

/** containerd.v1.types.Process */
export interface Process {
  container_id: string; // 1
  id: string; // 2
  pid: number; // 3
  status: ProcessStatus; // 4
  stdin: string; // 5
  stdout: string; // 6
  stderr: string; // 7
  terminal: boolean; // 8
  exit_status: number; // 9
  exited_at: Timestamp | null; // 10
}

/** containerd.v1.types.ProcessInfo */
export interface ProcessInfo {
  pid: number; // 1
  info: Any | null; // 2
}

// google/rpc/status.proto

/** google.rpc.Status */
export interface RpcStatus {
  code: number; // 1
  message: string; // 2
  details: Any[]; // 3
}

// github.com/containerd/containerd/api/services/version/v1/version.proto

/** Methods of service containerd.services.version.v1.Version */
export interface VersionMethods {
  Version: Rpc<'unary', Empty, VersionResponse>;
}

export type VersionHandlers = ServiceHandlers<VersionMethods>;
export type VersionClient = ServiceClient<VersionMethods>;

/** containerd.services.version.v1.VersionResponse */
export interface VersionResponse {
  version: string; // 1
  revision: string; // 2
}

// github.com/containerd/containerd/api/services/namespaces/v1/namespace.proto

/** Methods of service containerd.services.namespaces.v1.Namespaces */
export interface NamespacesMethods {
  Get: Rpc<'unary', GetNamespaceRequest, GetNamespaceResponse>;
  List: Rpc<'unary', ListNamespacesRequest, ListNamespacesResponse>;
  Create: Rpc<'unary', CreateNamespaceRequest, CreateNamespaceResponse>;
  Update: Rpc<'unary', UpdateNamespaceRequest, UpdateNamespaceResponse>;
  Delete: Rpc<'unary', DeleteNamespaceRequest, Empty>;
}

export type NamespacesHandlers = ServiceHandlers<NamespacesMethods>;
export type NamespacesClient = ServiceClient<NamespacesMethods>;

/** containerd.services.namespaces.v1.Namespace */
export interface Namespace {
  name: string; // 1
  labels: Record<string, string>; // 2
}

/** containerd.services.namespaces.v1.GetNamespaceRequest */
export interface GetNamespaceRequest {
  name: string; // 1
}

/** containerd.services.namespaces.v1.GetNamespaceResponse */
export interface GetNamespaceResponse {
  namespace: Namespace | null; // 1
}

/** containerd.services.namespaces.v1.ListNamespacesRequest */
export interface ListNamespacesRequest {
  filter: string; // 1
}

/** containerd.services.namespaces.v1.ListNamespacesResponse */
export interface ListNamespacesResponse {
  namespaces: Namespace[]; // 1
}

/** containerd.services.namespaces.v1.CreateNamespaceRequest */
export interface CreateNamespaceRequest {
  namespace: Namespace | null; // 1
}

/** containerd.services.namespaces.v1.CreateNamespaceResponse */
export interface CreateNamespaceResponse {
  namespace: Namespace | null; // 1
}

/** containerd.services.namespaces.v1.UpdateNamespaceRequest */
export interface UpdateNamespaceRequest {
  namespace: Namespace | null; // 1
  update_mask: FieldMask | null; // 2
}

/** containerd.services.namespaces.v1.UpdateNamespaceResponse */
export interface UpdateNamespaceResponse {
  namespace: Namespace | null; // 1
}

/** containerd.services.namespaces.v1.DeleteNamespaceRequest */
export interface DeleteNamespaceRequest {
  name: string; // 1
}

// github.com/containerd/containerd/api/services/introspection/v1/introspection.proto

/** Methods of service containerd.services.introspection.v1.Introspection */
export interface IntrospectionMethods {
  Plugins: Rpc<'unary', PluginsRequest, PluginsResponse>;
  Server: Rpc<'unary', Empty, ServerResponse>;
}

export type IntrospectionHandlers = ServiceHandlers<IntrospectionMethods>;
export type IntrospectionClient = ServiceClient<IntrospectionMethods>;

/** containerd.services.introspection.v1.Plugin */
export interface Plugin {
  type: string; // 1
  id: string; // 2
  requires: string[]; // 3
  platforms: Platform[]; // 4
  exports: Record<string, string>; // 5
  capabilities: string[]; // 6
  init_err: RpcStatus | null; // 7
}

/** containerd.services.introspection.v1.PluginsRequest */
export interface PluginsRequest {
  filters: string[]; // 1
}

/** containerd.services.introspection.v1.PluginsResponse */
export interface PluginsResponse {
  plugins: Plugin[]; // 1
}

/** containerd.services.introspection.v1.ServerResponse */
export interface ServerResponse {
  uuid: string; // 1
}

// github.com/containerd/containerd/api/services/containers/v1/containers.proto

/** Methods of service containerd.services.containers.v1.Containers */
export interface ContainersMethods {
  Get: Rpc<'unary', GetContainerRequest, GetContainerResponse>;
  List: Rpc<'unary', ListContainersRequest, ListContainersResponse>;
  ListStream: Rpc<'serverStream', ListContainersRequest, ListContainerMessage>;
  Create: Rpc<'unary', CreateContainerRequest, CreateContainerResponse>;
  Update: Rpc<'unary', UpdateContainerRequest, UpdateContainerResponse>;
  Delete: Rpc<'unary', DeleteContainerRequest, Empty>;
}

export type ContainersHandlers = ServiceHandlers<ContainersMethods>;
export type ContainersClient = ServiceClient<ContainersMethods>;

/** containerd.services.containers.v1.Container */
export interface Container {
  id: string; // 1
  labels: Record<string, string>; // 2
  image: string; // 3
  runtime: ContainerRuntime | null; // 4
  spec: Any | null; // 5
  snapshotter: string; // 6
  snapshot_key: string; // 7
  created_at: Timestamp | null; // 8
  updated_at: Timestamp | null; // 9
  extensions: Record<string, Any>; // 10
}

/** containerd.services.containers.v1.Container.Runtime */
export interface ContainerRuntime {
  name: string; // 1
  options: Any | null; // 2
}

/** containerd.services.containers.v1.GetContainerRequest */
export interface GetContainerRequest {
  id: string; // 1
}

/** containerd.services.containers.v1.GetContainerResponse */
export interface GetContainerResponse {
  container: Container | null; // 1
}

/** containerd.services.containers.v1.ListContainersRequest */
export interface ListContainersRequest {
  filters: string[]; // 1
}

/** containerd.services.containers.v1.ListContainersResponse */
export interface ListContainersResponse {
  containers: Container[]; // 1
}

/** containerd.services.containers.v1.CreateContainerRequest */
export interface CreateContainerRequest {
  container: Container | null; // 1
}

/** containerd.services.containers.v1.CreateContainerResponse */
export interface CreateContainerResponse {
  container: Container | null; // 1
}

/** containerd.services.containers.v1.UpdateContainerRequest */
export interface UpdateContainerRequest {
  container: Container | null; // 1
  update_mask: FieldMask | null; // 2
}

/** containerd.services.containers.v1.UpdateContainerResponse */
export interface UpdateContainerResponse {
  container: Container | null; // 1
}

/** containerd.services.containers.v1.DeleteContainerRequest */
export interface DeleteContainerRequest {
  id: string; // 1
}

/** containerd.services.containers.v1.ListContainerMessage */
export interface ListContainerMessage {
  container: Container | null; // 1
}

// github.com/containerd/containerd/api/services/images/v1/images.proto

/** Methods of service containerd.services.images.v1.Images */
export interface ImagesMethods {
  Get: Rpc<'unary', GetImageRequest, GetImageResponse>;
  List: Rpc<'unary', ListImagesRequest, ListImagesResponse>;
  Create: Rpc<'unary', CreateImageRequest, CreateImageResponse>;
  Update: Rpc<'unary', UpdateImageRequest, UpdateImageResponse>;
  Delete: Rpc<'unary', DeleteImageRequest, Empty>;
}

export type ImagesHandlers = ServiceHandlers<ImagesMethods>;
export type ImagesClient = ServiceClient<ImagesMethods>;

/** containerd_ts.services.images.v1.ImageResolve (containerd-ts's extension, proto/containerd-ts) */
export interface ImageResolveMethods {
  Resolve: Rpc<'unary', ResolveImageRequest, ResolveImageResponse>;
}

export type ImageResolveHandlers = ServiceHandlers<ImageResolveMethods>;

/** containerd_ts.services.images.v1.ResolveImageRequest */
export interface ResolveImageRequest {
  name: string; // 1
}

/** containerd_ts.services.images.v1.ResolveImageResponse */
export interface ResolveImageResponse {
  image: Image | null; // 1
  config: Buffer; // 2
}

/** containerd.services.images.v1.Image */
export interface Image {
  name: string; // 1
  labels: Record<string, string>; // 2
  target: Descriptor | null; // 3
  created_at: Timestamp | null; // 7
  updated_at: Timestamp | null; // 8
}

/** containerd.services.images.v1.GetImageRequest */
export interface GetImageRequest {
  name: string; // 1
}

/** containerd.services.images.v1.GetImageResponse */
export interface GetImageResponse {
  image: Image | null; // 1
}

/** containerd.services.images.v1.CreateImageRequest */
export interface CreateImageRequest {
  image: Image | null; // 1
}

/** containerd.services.images.v1.CreateImageResponse */
export interface CreateImageResponse {
  image: Image | null; // 1
}

/** containerd.services.images.v1.UpdateImageRequest */
export interface UpdateImageRequest {
  image: Image | null; // 1
  update_mask: FieldMask | null; // 2
}

/** containerd.services.images.v1.UpdateImageResponse */
export interface UpdateImageResponse {
  image: Image | null; // 1
}

/** containerd.services.images.v1.ListImagesRequest */
export interface ListImagesRequest {
  filters: string[]; // 1
}

/** containerd.services.images.v1.ListImagesResponse */
export interface ListImagesResponse {
  images: Image[]; // 1
}

/** containerd.services.images.v1.DeleteImageRequest */
export interface DeleteImageRequest {
  name: string; // 1
  sync: boolean; // 2
}

// github.com/containerd/containerd/api/services/tasks/v1/tasks.proto

/** Methods of service containerd.services.tasks.v1.Tasks */
export interface TasksMethods {
  Create: Rpc<'unary', CreateTaskRequest, CreateTaskResponse>;
  Start: Rpc<'unary', StartRequest, StartResponse>;
  Delete: Rpc<'unary', DeleteTaskRequest, DeleteResponse>;
  DeleteProcess: Rpc<'unary', DeleteProcessRequest, DeleteResponse>;
  Get: Rpc<'unary', GetRequest, GetResponse>;
  List: Rpc<'unary', ListTasksRequest, ListTasksResponse>;
  Kill: Rpc<'unary', KillRequest, Empty>;
  Exec: Rpc<'unary', ExecProcessRequest, Empty>;
  ResizePty: Rpc<'unary', ResizePtyRequest, Empty>;
  CloseIO: Rpc<'unary', CloseIORequest, Empty>;
  Pause: Rpc<'unary', PauseTaskRequest, Empty>;
  Resume: Rpc<'unary', ResumeTaskRequest, Empty>;
  ListPids: Rpc<'unary', ListPidsRequest, ListPidsResponse>;
  Checkpoint: Rpc<'unary', CheckpointTaskRequest, CheckpointTaskResponse>;
  Update: Rpc<'unary', UpdateTaskRequest, Empty>;
  Metrics: Rpc<'unary', MetricsRequest, MetricsResponse>;
  Wait: Rpc<'unary', WaitRequest, WaitResponse>;
}

export type TasksHandlers = ServiceHandlers<TasksMethods>;
export type TasksClient = ServiceClient<TasksMethods>;

/** containerd.services.tasks.v1.CreateTaskRequest */
export interface CreateTaskRequest {
  container_id: string; // 1
  rootfs: Mount[]; // 3
  stdin: string; // 4
  stdout: string; // 5
  stderr: string; // 6
  terminal: boolean; // 7
  checkpoint: Descriptor | null; // 8
  options: Any | null; // 9
  runtime_path: string; // 10
}

/** containerd.services.tasks.v1.CreateTaskResponse */
export interface CreateTaskResponse {
  container_id: string; // 1
  pid: number; // 2
}

/** containerd.services.tasks.v1.StartRequest */
export interface StartRequest {
  container_id: string; // 1
  exec_id: string; // 2
}

/** containerd.services.tasks.v1.StartResponse */
export interface StartResponse {
  pid: number; // 1
}

/** containerd.services.tasks.v1.DeleteTaskRequest */
export interface DeleteTaskRequest {
  container_id: string; // 1
}

/** containerd.services.tasks.v1.DeleteResponse */
export interface DeleteResponse {
  id: string; // 1
  pid: number; // 2
  exit_status: number; // 3
  exited_at: Timestamp | null; // 4
}

/** containerd.services.tasks.v1.DeleteProcessRequest */
export interface DeleteProcessRequest {
  container_id: string; // 1
  exec_id: string; // 2
}

/** containerd.services.tasks.v1.GetRequest */
export interface GetRequest {
  container_id: string; // 1
  exec_id: string; // 2
}

/** containerd.services.tasks.v1.GetResponse */
export interface GetResponse {
  process: Process | null; // 1
}

/** containerd.services.tasks.v1.ListTasksRequest */
export interface ListTasksRequest {
  filter: string; // 1
}

/** containerd.services.tasks.v1.ListTasksResponse */
export interface ListTasksResponse {
  tasks: Process[]; // 1
}

/** containerd.services.tasks.v1.KillRequest */
export interface KillRequest {
  container_id: string; // 1
  exec_id: string; // 2
  signal: number; // 3
  all: boolean; // 4
}

/** containerd.services.tasks.v1.ExecProcessRequest */
export interface ExecProcessRequest {
  container_id: string; // 1
  stdin: string; // 2
  stdout: string; // 3
  stderr: string; // 4
  terminal: boolean; // 5
  spec: Any | null; // 6
  exec_id: string; // 7
}

/** containerd.services.tasks.v1.ExecProcessResponse */
export type ExecProcessResponse = Record<string, never>;

/** containerd.services.tasks.v1.ResizePtyRequest */
export interface ResizePtyRequest {
  container_id: string; // 1
  exec_id: string; // 2
  width: number; // 3
  height: number; // 4
}

/** containerd.services.tasks.v1.CloseIORequest */
export interface CloseIORequest {
  container_id: string; // 1
  exec_id: string; // 2
  stdin: boolean; // 3
}

/** containerd.services.tasks.v1.PauseTaskRequest */
export interface PauseTaskRequest {
  container_id: string; // 1
}

/** containerd.services.tasks.v1.ResumeTaskRequest */
export interface ResumeTaskRequest {
  container_id: string; // 1
}

/** containerd.services.tasks.v1.ListPidsRequest */
export interface ListPidsRequest {
  container_id: string; // 1
}

/** containerd.services.tasks.v1.ListPidsResponse */
export interface ListPidsResponse {
  processes: ProcessInfo[]; // 1
}

/** containerd.services.tasks.v1.CheckpointTaskRequest */
export interface CheckpointTaskRequest {
  container_id: string; // 1
  parent_checkpoint: string; // 2
  options: Any | null; // 3
}

/** containerd.services.tasks.v1.CheckpointTaskResponse */
export interface CheckpointTaskResponse {
  descriptors: Descriptor[]; // 1
}

/** containerd.services.tasks.v1.UpdateTaskRequest */
export interface UpdateTaskRequest {
  container_id: string; // 1
  resources: Any | null; // 2
  annotations: Record<string, string>; // 3
}

/** containerd.services.tasks.v1.MetricsRequest */
export interface MetricsRequest {
  filters: string[]; // 1
}

/** containerd.services.tasks.v1.MetricsResponse */
export interface MetricsResponse {
  metrics: Metric[]; // 1
}

/** containerd.services.tasks.v1.WaitRequest */
export interface WaitRequest {
  container_id: string; // 1
  exec_id: string; // 2
}

/** containerd.services.tasks.v1.WaitResponse */
export interface WaitResponse {
  exit_status: number; // 1
  exited_at: Timestamp | null; // 2
}

// github.com/containerd/containerd/api/services/events/v1/events.proto

/** Methods of service containerd.services.events.v1.Events */
export interface EventsMethods {
  Publish: Rpc<'unary', PublishRequest, Empty>;
  Forward: Rpc<'unary', ForwardRequest, Empty>;
  Subscribe: Rpc<'serverStream', SubscribeRequest, Envelope>;
}

export type EventsHandlers = ServiceHandlers<EventsMethods>;
export type EventsClient = ServiceClient<EventsMethods>;

/** containerd.services.events.v1.PublishRequest */
export interface PublishRequest {
  topic: string; // 1
  event: Any | null; // 2
}

/** containerd.services.events.v1.ForwardRequest */
export interface ForwardRequest {
  envelope: Envelope | null; // 1
}

/** containerd.services.events.v1.SubscribeRequest */
export interface SubscribeRequest {
  filters: string[]; // 1
}

/** containerd.services.events.v1.Envelope */
export interface Envelope {
  timestamp: Timestamp | null; // 1
  namespace: string; // 2
  topic: string; // 3
  event: Any | null; // 4
}

// github.com/containerd/containerd/api/services/content/v1/content.proto

/** Methods of service containerd.services.content.v1.Content */
export interface ContentMethods {
  Info: Rpc<'unary', ContentInfoRequest, ContentInfoResponse>;
  Update: Rpc<'unary', ContentUpdateRequest, ContentUpdateResponse>;
  List: Rpc<'serverStream', ListContentRequest, ListContentResponse>;
  Delete: Rpc<'unary', DeleteContentRequest, Empty>;
  Read: Rpc<'serverStream', ReadContentRequest, ReadContentResponse>;
  Status: Rpc<'unary', ContentStatusRequest, ContentStatusResponse>;
  ListStatuses: Rpc<'unary', ListStatusesRequest, ListStatusesResponse>;
  Write: Rpc<'bidi', WriteContentRequest, WriteContentResponse>;
  Abort: Rpc<'unary', AbortRequest, Empty>;
}

export type ContentHandlers = ServiceHandlers<ContentMethods>;
export type ContentClient = ServiceClient<ContentMethods>;

/** containerd.services.content.v1.Info */
export interface ContentInfo {
  digest: string; // 1
  size: Int64; // 2
  created_at: Timestamp | null; // 3
  updated_at: Timestamp | null; // 4
  labels: Record<string, string>; // 5
}

/** containerd.services.content.v1.InfoRequest */
export interface ContentInfoRequest {
  digest: string; // 1
}

/** containerd.services.content.v1.InfoResponse */
export interface ContentInfoResponse {
  info: ContentInfo | null; // 1
}

/** containerd.services.content.v1.UpdateRequest */
export interface ContentUpdateRequest {
  info: ContentInfo | null; // 1
  update_mask: FieldMask | null; // 2
}

/** containerd.services.content.v1.UpdateResponse */
export interface ContentUpdateResponse {
  info: ContentInfo | null; // 1
}

/** containerd.services.content.v1.ListContentRequest */
export interface ListContentRequest {
  filters: string[]; // 1
}

/** containerd.services.content.v1.ListContentResponse */
export interface ListContentResponse {
  info: ContentInfo[]; // 1
}

/** containerd.services.content.v1.DeleteContentRequest */
export interface DeleteContentRequest {
  digest: string; // 1
}

/** containerd.services.content.v1.ReadContentRequest */
export interface ReadContentRequest {
  digest: string; // 1
  offset: Int64; // 2
  size: Int64; // 3
}

/** containerd.services.content.v1.ReadContentResponse */
export interface ReadContentResponse {
  offset: Int64; // 1
  data: Buffer; // 2
}

/** containerd.services.content.v1.Status */
export interface ContentStatus {
  started_at: Timestamp | null; // 1
  updated_at: Timestamp | null; // 2
  ref: string; // 3
  offset: Int64; // 4
  total: Int64; // 5
  expected: string; // 6
}

/** containerd.services.content.v1.StatusRequest */
export interface ContentStatusRequest {
  ref: string; // 1
}

/** containerd.services.content.v1.StatusResponse */
export interface ContentStatusResponse {
  status: ContentStatus | null; // 1
}

/** containerd.services.content.v1.ListStatusesRequest */
export interface ListStatusesRequest {
  filters: string[]; // 1
}

/** containerd.services.content.v1.ListStatusesResponse */
export interface ListStatusesResponse {
  statuses: ContentStatus[]; // 1
}

/** enum containerd.services.content.v1.WriteAction */
export type WriteAction = 'STAT' | 'WRITE' | 'COMMIT';

/** containerd.services.content.v1.WriteContentRequest */
export interface WriteContentRequest {
  action: WriteAction; // 1
  ref: string; // 2
  total: Int64; // 3
  expected: string; // 4
  offset: Int64; // 5
  data: Buffer; // 6
  labels: Record<string, string>; // 7
}

/** containerd.services.content.v1.WriteContentResponse */
export interface WriteContentResponse {
  action: WriteAction; // 1
  started_at: Timestamp | null; // 2
  updated_at: Timestamp | null; // 3
  offset: Int64; // 4
  total: Int64; // 5
  digest: string; // 6
}

/** containerd.services.content.v1.AbortRequest */
export interface AbortRequest {
  ref: string; // 1
}

// github.com/containerd/containerd/api/services/snapshots/v1/snapshots.proto

/** Methods of service containerd.services.snapshots.v1.Snapshots */
export interface SnapshotsMethods {
  Prepare: Rpc<'unary', PrepareSnapshotRequest, PrepareSnapshotResponse>;
  View: Rpc<'unary', ViewSnapshotRequest, ViewSnapshotResponse>;
  Mounts: Rpc<'unary', MountsRequest, MountsResponse>;
  Commit: Rpc<'unary', CommitSnapshotRequest, Empty>;
  Remove: Rpc<'unary', RemoveSnapshotRequest, Empty>;
  Stat: Rpc<'unary', StatSnapshotRequest, StatSnapshotResponse>;
  Update: Rpc<'unary', UpdateSnapshotRequest, UpdateSnapshotResponse>;
  List: Rpc<'serverStream', ListSnapshotsRequest, ListSnapshotsResponse>;
  Usage: Rpc<'unary', UsageRequest, UsageResponse>;
  Cleanup: Rpc<'unary', CleanupRequest, Empty>;
}

export type SnapshotsHandlers = ServiceHandlers<SnapshotsMethods>;
export type SnapshotsClient = ServiceClient<SnapshotsMethods>;

/** containerd.services.snapshots.v1.PrepareSnapshotRequest */
export interface PrepareSnapshotRequest {
  snapshotter: string; // 1
  key: string; // 2
  parent: string; // 3
  labels: Record<string, string>; // 4
}

/** containerd.services.snapshots.v1.PrepareSnapshotResponse */
export interface PrepareSnapshotResponse {
  mounts: Mount[]; // 1
}

/** containerd.services.snapshots.v1.ViewSnapshotRequest */
export interface ViewSnapshotRequest {
  snapshotter: string; // 1
  key: string; // 2
  parent: string; // 3
  labels: Record<string, string>; // 4
}

/** containerd.services.snapshots.v1.ViewSnapshotResponse */
export interface ViewSnapshotResponse {
  mounts: Mount[]; // 1
}

/** containerd.services.snapshots.v1.MountsRequest */
export interface MountsRequest {
  snapshotter: string; // 1
  key: string; // 2
}

/** containerd.services.snapshots.v1.MountsResponse */
export interface MountsResponse {
  mounts: Mount[]; // 1
}

/** containerd.services.snapshots.v1.RemoveSnapshotRequest */
export interface RemoveSnapshotRequest {
  snapshotter: string; // 1
  key: string; // 2
}

/** containerd.services.snapshots.v1.CommitSnapshotRequest */
export interface CommitSnapshotRequest {
  snapshotter: string; // 1
  name: string; // 2
  key: string; // 3
  labels: Record<string, string>; // 4
}

/** containerd.services.snapshots.v1.StatSnapshotRequest */
export interface StatSnapshotRequest {
  snapshotter: string; // 1
  key: string; // 2
}

/** enum containerd.services.snapshots.v1.Kind */
export type SnapshotKind = 'UNKNOWN' | 'VIEW' | 'ACTIVE' | 'COMMITTED';

/** containerd.services.snapshots.v1.Info */
export interface SnapshotInfo {
  name: string; // 1
  parent: string; // 2
  kind: SnapshotKind; // 3
  created_at: Timestamp | null; // 4
  updated_at: Timestamp | null; // 5
  labels: Record<string, string>; // 6
}

/** containerd.services.snapshots.v1.StatSnapshotResponse */
export interface StatSnapshotResponse {
  info: SnapshotInfo | null; // 1
}

/** containerd.services.snapshots.v1.UpdateSnapshotRequest */
export interface UpdateSnapshotRequest {
  snapshotter: string; // 1
  info: SnapshotInfo | null; // 2
  update_mask: FieldMask | null; // 3
}

/** containerd.services.snapshots.v1.UpdateSnapshotResponse */
export interface UpdateSnapshotResponse {
  info: SnapshotInfo | null; // 1
}

/** containerd.services.snapshots.v1.ListSnapshotsRequest */
export interface ListSnapshotsRequest {
  snapshotter: string; // 1
  filters: string[]; // 2
}

/** containerd.services.snapshots.v1.ListSnapshotsResponse */
export interface ListSnapshotsResponse {
  info: SnapshotInfo[]; // 1
}

/** containerd.services.snapshots.v1.UsageRequest */
export interface UsageRequest {
  snapshotter: string; // 1
  key: string; // 2
}

/** containerd.services.snapshots.v1.UsageResponse */
export interface UsageResponse {
  size: Int64; // 1
  inodes: Int64; // 2
}

/** containerd.services.snapshots.v1.CleanupRequest */
export interface CleanupRequest {
  snapshotter: string; // 1
}

// github.com/containerd/containerd/api/services/diff/v1/diff.proto

/** Methods of service containerd.services.diff.v1.Diff */
export interface DiffMethods {
  Apply: Rpc<'unary', ApplyRequest, ApplyResponse>;
  Diff: Rpc<'unary', DiffRequest, DiffResponse>;
}

export type DiffHandlers = ServiceHandlers<DiffMethods>;
export type DiffClient = ServiceClient<DiffMethods>;

/** containerd.services.diff.v1.ApplyRequest */
export interface ApplyRequest {
  diff: Descriptor | null; // 1
  mounts: Mount[]; // 2
  payloads: Record<string, Any>; // 3
}

/** containerd.services.diff.v1.ApplyResponse */
export interface ApplyResponse {
  applied: Descriptor | null; // 1
}

/** containerd.services.diff.v1.DiffRequest */
export interface DiffRequest {
  left: Mount[]; // 1
  right: Mount[]; // 2
  media_type: string; // 3
  ref: string; // 4
  labels: Record<string, string>; // 5
}

/** containerd.services.diff.v1.DiffResponse */
export interface DiffResponse {
  diff: Descriptor | null; // 3
}

// github.com/containerd/containerd/api/services/leases/v1/leases.proto

/** Methods of service containerd.services.leases.v1.Leases */
export interface LeasesMethods {
  Create: Rpc<'unary', CreateLeaseRequest, CreateLeaseResponse>;
  Delete: Rpc<'unary', DeleteLeaseRequest, Empty>;
  List: Rpc<'unary', ListLeasesRequest, ListLeasesResponse>;
  AddResource: Rpc<'unary', AddResourceRequest, Empty>;
  DeleteResource: Rpc<'unary', DeleteResourceRequest, Empty>;
  ListResources: Rpc<'unary', ListResourcesRequest, ListResourcesResponse>;
}

export type LeasesHandlers = ServiceHandlers<LeasesMethods>;
export type LeasesClient = ServiceClient<LeasesMethods>;

/** containerd.services.leases.v1.Lease */
export interface Lease {
  id: string; // 1
  created_at: Timestamp | null; // 2
  labels: Record<string, string>; // 3
}

/** containerd.services.leases.v1.CreateRequest */
export interface CreateLeaseRequest {
  id: string; // 1
  labels: Record<string, string>; // 3
}

/** containerd.services.leases.v1.CreateResponse */
export interface CreateLeaseResponse {
  lease: Lease | null; // 1
}

/** containerd.services.leases.v1.DeleteRequest */
export interface DeleteLeaseRequest {
  id: string; // 1
  sync: boolean; // 2
}

/** containerd.services.leases.v1.ListRequest */
export interface ListLeasesRequest {
  filters: string[]; // 1
}

/** containerd.services.leases.v1.ListResponse */
export interface ListLeasesResponse {
  leases: Lease[]; // 1
}

/** containerd.services.leases.v1.Resource */
export interface LeaseResource {
  id: string; // 1
  type: string; // 2
}

/** containerd.services.leases.v1.AddResourceRequest */
export interface AddResourceRequest {
  id: string; // 1
  resource: LeaseResource | null; // 2
}

/** containerd.services.leases.v1.DeleteResourceRequest */
export interface DeleteResourceRequest {
  id: string; // 1
  resource: LeaseResource | null; // 2
}

/** containerd.services.leases.v1.ListResourcesRequest */
export interface ListResourcesRequest {
  id: string; // 1
}

/** containerd.services.leases.v1.ListResourcesResponse */
export interface ListResourcesResponse {
  resources: LeaseResource[]; // 1
}

// github.com/containerd/containerd/api/events/container.proto

/** containerd.events.ContainerCreate */
export interface ContainerCreate {
  id: string; // 1
  image: string; // 2
  runtime: ContainerCreateRuntime | null; // 3
}

/** containerd.events.ContainerCreate.Runtime */
export interface ContainerCreateRuntime {
  name: string; // 1
  options: Any | null; // 2
}

/** containerd.events.ContainerUpdate */
export interface ContainerUpdate {
  id: string; // 1
  image: string; // 2
  labels: Record<string, string>; // 3
  snapshot_key: string; // 4
}

/** containerd.events.ContainerDelete */
export interface ContainerDelete {
  id: string; // 1
}

// github.com/containerd/containerd/api/events/content.proto

/** containerd.events.ContentDelete */
export interface ContentDelete {
  digest: string; // 1
}

// github.com/containerd/containerd/api/events/image.proto

/** containerd.services.images.v1.ImageCreate */
export interface ImageCreate {
  name: string; // 1
  labels: Record<string, string>; // 2
}

/** containerd.services.images.v1.ImageUpdate */
export interface ImageUpdate {
  name: string; // 1
  labels: Record<string, string>; // 2
}

/** containerd.services.images.v1.ImageDelete */
export interface ImageDelete {
  name: string; // 1
}

// github.com/containerd/containerd/api/events/namespace.proto

/** containerd.events.NamespaceCreate */
export interface NamespaceCreate {
  name: string; // 1
  labels: Record<string, string>; // 2
}

/** containerd.events.NamespaceUpdate */
export interface NamespaceUpdate {
  name: string; // 1
  labels: Record<string, string>; // 2
}

/** containerd.events.NamespaceDelete */
export interface NamespaceDelete {
  name: string; // 1
}

// github.com/containerd/containerd/api/events/snapshot.proto

/** containerd.events.SnapshotPrepare */
export interface SnapshotPrepare {
  key: string; // 1
  parent: string; // 2
}

/** containerd.events.SnapshotCommit */
export interface SnapshotCommit {
  key: string; // 1
  name: string; // 2
}

/** containerd.events.SnapshotRemove */
export interface SnapshotRemove {
  key: string; // 1
}

// github.com/containerd/containerd/api/events/task.proto

/** containerd.events.TaskCreate */
export interface TaskCreate {
  container_id: string; // 1
  bundle: string; // 2
  rootfs: Mount[]; // 3
  io: TaskIO | null; // 4
  checkpoint: string; // 5
  pid: number; // 6
}

/** containerd.events.TaskStart */
export interface TaskStart {
  container_id: string; // 1
  pid: number; // 2
}

/** containerd.events.TaskDelete */
export interface TaskDelete {
  container_id: string; // 1
  pid: number; // 2
  exit_status: number; // 3
  exited_at: Timestamp | null; // 4
  id: string; // 5
}

/** containerd.events.TaskIO */
export interface TaskIO {
  stdin: string; // 1
  stdout: string; // 2
  stderr: string; // 3
  terminal: boolean; // 4
}

/** containerd.events.TaskExit */
export interface TaskExit {
  container_id: string; // 1
  id: string; // 2
  pid: number; // 3
  exit_status: number; // 4
  exited_at: Timestamp | null; // 5
}

/** containerd.events.TaskOOM */
export interface TaskOOM {
  container_id: string; // 1
}

/** containerd.events.TaskExecAdded */
export interface TaskExecAdded {
  container_id: string; // 1
  exec_id: string; // 2
}

/** containerd.events.TaskExecStarted */
export interface TaskExecStarted {
  container_id: string; // 1
  exec_id: string; // 2
  pid: number; // 3
}

/** containerd.events.TaskPaused */
export interface TaskPaused {
  container_id: string; // 1
}

/** containerd.events.TaskResumed */
export interface TaskResumed {
  container_id: string; // 1
}

/** containerd.events.TaskCheckpointed */
export interface TaskCheckpointed {
  container_id: string; // 1
  checkpoint: string; // 2
}

// github.com/containerd/containerd/runtime/v2/runc/options/oci.proto

/** containerd.runc.v1.Options */
export interface RuncV1Options {
  no_pivot_root: boolean; // 1
  no_new_keyring: boolean; // 2
  shim_cgroup: string; // 3
  io_uid: number; // 4
  io_gid: number; // 5
  binary_name: string; // 6
  root: string; // 7
  criu_path: string; // 8
  systemd_cgroup: boolean; // 9
  criu_image_path: string; // 10
  criu_work_path: string; // 11
}

/** containerd.runc.v1.CheckpointOptions */
export interface RuncV1CheckpointOptions {
  exit: boolean; // 1
  open_tcp: boolean; // 2
  external_unix_sockets: boolean; // 3
  terminal: boolean; // 4
  file_locks: boolean; // 5
  empty_namespaces: string[]; // 6
  cgroups_mode: string; // 7
  image_path: string; // 8
  work_path: string; // 9
}

/** containerd.runc.v1.ProcessDetails */
export interface RuncV1ProcessDetails {
  exec_id: string; // 1
}

// github.com/containerd/containerd/runtime/linux/runctypes/runc.proto

/** containerd.linux.runc.RuncOptions */
export interface LinuxRuncOptions {
  runtime: string; // 1
  runtime_root: string; // 2
  criu_path: string; // 3
  systemd_cgroup: boolean; // 4
}

/** containerd.linux.runc.CreateOptions */
export interface LinuxRuncCreateOptions {
  no_pivot_root: boolean; // 1
  open_tcp: boolean; // 2
  external_unix_sockets: boolean; // 3
  terminal: boolean; // 4
  file_locks: boolean; // 5
  empty_namespaces: string[]; // 6
  cgroups_mode: string; // 7
  no_new_keyring: boolean; // 8
  shim_cgroup: string; // 9
  io_uid: number; // 10
  io_gid: number; // 11
  criu_work_path: string; // 12
  criu_image_path: string; // 13
}

/** containerd.linux.runc.CheckpointOptions */
export interface LinuxRuncCheckpointOptions {
  exit: boolean; // 1
  open_tcp: boolean; // 2
  external_unix_sockets: boolean; // 3
  terminal: boolean; // 4
  file_locks: boolean; // 5
  empty_namespaces: string[]; // 6
  cgroups_mode: string; // 7
  work_path: string; // 8
  image_path: string; // 9
}

/** containerd.linux.runc.ProcessDetails */
export interface LinuxRuncProcessDetails {
  exec_id: string; // 1
}

// github.com/containerd/containerd/pkg/runtimeoptions/v1/api.proto

/** runtimeoptions.v1.Options */
export interface RuntimeOptionsV1Options {
  type_url: string; // 1
  config_path: string; // 2
}

// github.com/containerd/cgroups/stats/v1/metrics.proto

/** io.containerd.cgroups.v1.Metrics */
export interface CgroupsV1Metrics {
  hugetlb: CgroupsV1HugetlbStat[]; // 1
  pids: CgroupsV1PidsStat | null; // 2
  cpu: CgroupsV1CPUStat | null; // 3
  memory: CgroupsV1MemoryStat | null; // 4
  blkio: CgroupsV1BlkIOStat | null; // 5
  rdma: CgroupsV1RdmaStat | null; // 6
  network: CgroupsV1NetworkStat[]; // 7
  cgroup_stats: CgroupsV1CgroupStats | null; // 8
  memory_oom_control: CgroupsV1MemoryOomControl | null; // 9
}

/** io.containerd.cgroups.v1.HugetlbStat */
export interface CgroupsV1HugetlbStat {
  usage: Int64; // 1
  max: Int64; // 2
  failcnt: Int64; // 3
  pagesize: string; // 4
}

/** io.containerd.cgroups.v1.PidsStat */
export interface CgroupsV1PidsStat {
  current: Int64; // 1
  limit: Int64; // 2
}

/** io.containerd.cgroups.v1.CPUStat */
export interface CgroupsV1CPUStat {
  usage: CgroupsV1CPUUsage | null; // 1
  throttling: CgroupsV1Throttle | null; // 2
}

/** io.containerd.cgroups.v1.CPUUsage */
export interface CgroupsV1CPUUsage {
  total: Int64; // 1
  kernel: Int64; // 2
  user: Int64; // 3
  per_cpu: Int64[]; // 4
}

/** io.containerd.cgroups.v1.Throttle */
export interface CgroupsV1Throttle {
  periods: Int64; // 1
  throttled_periods: Int64; // 2
  throttled_time: Int64; // 3
}

/** io.containerd.cgroups.v1.MemoryStat */
export interface CgroupsV1MemoryStat {
  cache: Int64; // 1
  rss: Int64; // 2
  rss_huge: Int64; // 3
  mapped_file: Int64; // 4
  dirty: Int64; // 5
  writeback: Int64; // 6
  pg_pg_in: Int64; // 7
  pg_pg_out: Int64; // 8
  pg_fault: Int64; // 9
  pg_maj_fault: Int64; // 10
  inactive_anon: Int64; // 11
  active_anon: Int64; // 12
  inactive_file: Int64; // 13
  active_file: Int64; // 14
  unevictable: Int64; // 15
  hierarchical_memory_limit: Int64; // 16
  hierarchical_swap_limit: Int64; // 17
  total_cache: Int64; // 18
  total_rss: Int64; // 19
  total_rss_huge: Int64; // 20
  total_mapped_file: Int64; // 21
  total_dirty: Int64; // 22
  total_writeback: Int64; // 23
  total_pg_pg_in: Int64; // 24
  total_pg_pg_out: Int64; // 25
  total_pg_fault: Int64; // 26
  total_pg_maj_fault: Int64; // 27
  total_inactive_anon: Int64; // 28
  total_active_anon: Int64; // 29
  total_inactive_file: Int64; // 30
  total_active_file: Int64; // 31
  total_unevictable: Int64; // 32
  usage: CgroupsV1MemoryEntry | null; // 33
  swap: CgroupsV1MemoryEntry | null; // 34
  kernel: CgroupsV1MemoryEntry | null; // 35
  kernel_tcp: CgroupsV1MemoryEntry | null; // 36
}

/** io.containerd.cgroups.v1.MemoryEntry */
export interface CgroupsV1MemoryEntry {
  limit: Int64; // 1
  usage: Int64; // 2
  max: Int64; // 3
  failcnt: Int64; // 4
}

/** io.containerd.cgroups.v1.MemoryOomControl */
export interface CgroupsV1MemoryOomControl {
  oom_kill_disable: Int64; // 1
  under_oom: Int64; // 2
  oom_kill: Int64; // 3
}

/** io.containerd.cgroups.v1.BlkIOStat */
export interface CgroupsV1BlkIOStat {
  io_service_bytes_recursive: CgroupsV1BlkIOEntry[]; // 1
  io_serviced_recursive: CgroupsV1BlkIOEntry[]; // 2
  io_queued_recursive: CgroupsV1BlkIOEntry[]; // 3
  io_service_time_recursive: CgroupsV1BlkIOEntry[]; // 4
  io_wait_time_recursive: CgroupsV1BlkIOEntry[]; // 5
  io_merged_recursive: CgroupsV1BlkIOEntry[]; // 6
  io_time_recursive: CgroupsV1BlkIOEntry[]; // 7
  sectors_recursive: CgroupsV1BlkIOEntry[]; // 8
}

/** io.containerd.cgroups.v1.BlkIOEntry */
export interface CgroupsV1BlkIOEntry {
  op: string; // 1
  device: string; // 2
  major: Int64; // 3
  minor: Int64; // 4
  value: Int64; // 5
}

/** io.containerd.cgroups.v1.RdmaStat */
export interface CgroupsV1RdmaStat {
  current: CgroupsV1RdmaEntry[]; // 1
  limit: CgroupsV1RdmaEntry[]; // 2
}

/** io.containerd.cgroups.v1.RdmaEntry */
export interface CgroupsV1RdmaEntry {
  device: string; // 1
  hca_handles: number; // 2
  hca_objects: number; // 3
}

/** io.containerd.cgroups.v1.NetworkStat */
export interface CgroupsV1NetworkStat {
  name: string; // 1
  rx_bytes: Int64; // 2
  rx_packets: Int64; // 3
  rx_errors: Int64; // 4
  rx_dropped: Int64; // 5
  tx_bytes: Int64; // 6
  tx_packets: Int64; // 7
  tx_errors: Int64; // 8
  tx_dropped: Int64; // 9
}

/** io.containerd.cgroups.v1.CgroupStats */
export interface CgroupsV1CgroupStats {
  nr_sleeping: Int64; // 1
  nr_running: Int64; // 2
  nr_stopped: Int64; // 3
  nr_uninterruptible: Int64; // 4
  nr_io_wait: Int64; // 5
}

// github.com/containerd/cgroups/v2/stats/metrics.proto

/** io.containerd.cgroups.v2.Metrics */
export interface CgroupsV2Metrics {
  pids: CgroupsV2PidsStat | null; // 1
  cpu: CgroupsV2CPUStat | null; // 2
  memory: CgroupsV2MemoryStat | null; // 4
  rdma: CgroupsV2RdmaStat | null; // 5
  io: CgroupsV2IOStat | null; // 6
  hugetlb: CgroupsV2HugeTlbStat[]; // 7
  memory_events: CgroupsV2MemoryEvents | null; // 8
}

/** io.containerd.cgroups.v2.PidsStat */
export interface CgroupsV2PidsStat {
  current: Int64; // 1
  limit: Int64; // 2
}

/** io.containerd.cgroups.v2.CPUStat */
export interface CgroupsV2CPUStat {
  usage_usec: Int64; // 1
  user_usec: Int64; // 2
  system_usec: Int64; // 3
  nr_periods: Int64; // 4
  nr_throttled: Int64; // 5
  throttled_usec: Int64; // 6
}

/** io.containerd.cgroups.v2.MemoryStat */
export interface CgroupsV2MemoryStat {
  anon: Int64; // 1
  file: Int64; // 2
  kernel_stack: Int64; // 3
  slab: Int64; // 4
  sock: Int64; // 5
  shmem: Int64; // 6
  file_mapped: Int64; // 7
  file_dirty: Int64; // 8
  file_writeback: Int64; // 9
  anon_thp: Int64; // 10
  inactive_anon: Int64; // 11
  active_anon: Int64; // 12
  inactive_file: Int64; // 13
  active_file: Int64; // 14
  unevictable: Int64; // 15
  slab_reclaimable: Int64; // 16
  slab_unreclaimable: Int64; // 17
  pgfault: Int64; // 18
  pgmajfault: Int64; // 19
  workingset_refault: Int64; // 20
  workingset_activate: Int64; // 21
  workingset_nodereclaim: Int64; // 22
  pgrefill: Int64; // 23
  pgscan: Int64; // 24
  pgsteal: Int64; // 25
  pgactivate: Int64; // 26
  pgdeactivate: Int64; // 27
  pglazyfree: Int64; // 28
  pglazyfreed: Int64; // 29
  thp_fault_alloc: Int64; // 30
  thp_collapse_alloc: Int64; // 31
  usage: Int64; // 32
  usage_limit: Int64; // 33
  swap_usage: Int64; // 34
  swap_limit: Int64; // 35
}

/** io.containerd.cgroups.v2.MemoryEvents */
export interface CgroupsV2MemoryEvents {
  low: Int64; // 1
  high: Int64; // 2
  max: Int64; // 3
  oom: Int64; // 4
  oom_kill: Int64; // 5
}

/** io.containerd.cgroups.v2.RdmaStat */
export interface CgroupsV2RdmaStat {
  current: CgroupsV2RdmaEntry[]; // 1
  limit: CgroupsV2RdmaEntry[]; // 2
}

/** io.containerd.cgroups.v2.RdmaEntry */
export interface CgroupsV2RdmaEntry {
  device: string; // 1
  hca_handles: number; // 2
  hca_objects: number; // 3
}

/** io.containerd.cgroups.v2.IOStat */
export interface CgroupsV2IOStat {
  usage: CgroupsV2IOEntry[]; // 1
}

/** io.containerd.cgroups.v2.IOEntry */
export interface CgroupsV2IOEntry {
  major: Int64; // 1
  minor: Int64; // 2
  rbytes: Int64; // 3
  wbytes: Int64; // 4
  rios: Int64; // 5
  wios: Int64; // 6
}

/** io.containerd.cgroups.v2.HugeTlbStat */
export interface CgroupsV2HugeTlbStat {
  current: Int64; // 1
  max: Int64; // 2
  pagesize: string; // 3
}

/** Method maps by the short service names used in ContainerdApi.services. */
export interface ContainerdServiceMethods {
  /** containerd.services.version.v1.Version */
  version: VersionMethods;
  /** containerd.services.namespaces.v1.Namespaces */
  namespaces: NamespacesMethods;
  /** containerd.services.introspection.v1.Introspection */
  introspection: IntrospectionMethods;
  /** containerd.services.containers.v1.Containers */
  containers: ContainersMethods;
  /** containerd.services.images.v1.Images */
  images: ImagesMethods;
  /** containerd.services.tasks.v1.Tasks */
  tasks: TasksMethods;
  /** containerd.services.events.v1.Events */
  events: EventsMethods;
  /** containerd.services.content.v1.Content */
  content: ContentMethods;
  /** containerd.services.snapshots.v1.Snapshots */
  snapshots: SnapshotsMethods;
  /** containerd.services.diff.v1.Diff */
  diff: DiffMethods;
  /** containerd.services.leases.v1.Leases */
  leases: LeasesMethods;
  /** containerd_ts.services.images.v1.ImageResolve */
  imageResolve: ImageResolveMethods;
}

/** Full service names by short name. */
export const SERVICE_FULL_NAMES = {
  version: 'containerd.services.version.v1.Version',
  namespaces: 'containerd.services.namespaces.v1.Namespaces',
  introspection: 'containerd.services.introspection.v1.Introspection',
  containers: 'containerd.services.containers.v1.Containers',
  images: 'containerd.services.images.v1.Images',
  tasks: 'containerd.services.tasks.v1.Tasks',
  events: 'containerd.services.events.v1.Events',
  content: 'containerd.services.content.v1.Content',
  snapshots: 'containerd.services.snapshots.v1.Snapshots',
  diff: 'containerd.services.diff.v1.Diff',
  leases: 'containerd.services.leases.v1.Leases',
  imageResolve: 'containerd_ts.services.images.v1.ImageResolve',
} as const satisfies Record<keyof ContainerdServiceMethods, string>;

/** Every message type in proto/ (outside google.protobuf) by full name. */
export interface MessageTypeMap {
  'containerd.events.ContainerCreate': ContainerCreate;
  'containerd.events.ContainerCreate.Runtime': ContainerCreateRuntime;
  'containerd.events.ContainerUpdate': ContainerUpdate;
  'containerd.events.ContainerDelete': ContainerDelete;
  'containerd.events.ContentDelete': ContentDelete;
  'containerd.events.NamespaceCreate': NamespaceCreate;
  'containerd.events.NamespaceUpdate': NamespaceUpdate;
  'containerd.events.NamespaceDelete': NamespaceDelete;
  'containerd.events.SnapshotPrepare': SnapshotPrepare;
  'containerd.events.SnapshotCommit': SnapshotCommit;
  'containerd.events.SnapshotRemove': SnapshotRemove;
  'containerd.events.TaskCreate': TaskCreate;
  'containerd.events.TaskStart': TaskStart;
  'containerd.events.TaskDelete': TaskDelete;
  'containerd.events.TaskIO': TaskIO;
  'containerd.events.TaskExit': TaskExit;
  'containerd.events.TaskOOM': TaskOOM;
  'containerd.events.TaskExecAdded': TaskExecAdded;
  'containerd.events.TaskExecStarted': TaskExecStarted;
  'containerd.events.TaskPaused': TaskPaused;
  'containerd.events.TaskResumed': TaskResumed;
  'containerd.events.TaskCheckpointed': TaskCheckpointed;
  'containerd.services.images.v1.ImageCreate': ImageCreate;
  'containerd.services.images.v1.ImageUpdate': ImageUpdate;
  'containerd.services.images.v1.ImageDelete': ImageDelete;
  'containerd.services.images.v1.Image': Image;
  'containerd.services.images.v1.GetImageRequest': GetImageRequest;
  'containerd_ts.services.images.v1.ResolveImageRequest': ResolveImageRequest;
  'containerd_ts.services.images.v1.ResolveImageResponse': ResolveImageResponse;
  'containerd.services.images.v1.GetImageResponse': GetImageResponse;
  'containerd.services.images.v1.CreateImageRequest': CreateImageRequest;
  'containerd.services.images.v1.CreateImageResponse': CreateImageResponse;
  'containerd.services.images.v1.UpdateImageRequest': UpdateImageRequest;
  'containerd.services.images.v1.UpdateImageResponse': UpdateImageResponse;
  'containerd.services.images.v1.ListImagesRequest': ListImagesRequest;
  'containerd.services.images.v1.ListImagesResponse': ListImagesResponse;
  'containerd.services.images.v1.DeleteImageRequest': DeleteImageRequest;
  'containerd.services.containers.v1.Container': Container;
  'containerd.services.containers.v1.Container.Runtime': ContainerRuntime;
  'containerd.services.containers.v1.GetContainerRequest': GetContainerRequest;
  'containerd.services.containers.v1.GetContainerResponse': GetContainerResponse;
  'containerd.services.containers.v1.ListContainersRequest': ListContainersRequest;
  'containerd.services.containers.v1.ListContainersResponse': ListContainersResponse;
  'containerd.services.containers.v1.CreateContainerRequest': CreateContainerRequest;
  'containerd.services.containers.v1.CreateContainerResponse': CreateContainerResponse;
  'containerd.services.containers.v1.UpdateContainerRequest': UpdateContainerRequest;
  'containerd.services.containers.v1.UpdateContainerResponse': UpdateContainerResponse;
  'containerd.services.containers.v1.DeleteContainerRequest': DeleteContainerRequest;
  'containerd.services.containers.v1.ListContainerMessage': ListContainerMessage;
  'containerd.services.content.v1.Info': ContentInfo;
  'containerd.services.content.v1.InfoRequest': ContentInfoRequest;
  'containerd.services.content.v1.InfoResponse': ContentInfoResponse;
  'containerd.services.content.v1.UpdateRequest': ContentUpdateRequest;
  'containerd.services.content.v1.UpdateResponse': ContentUpdateResponse;
  'containerd.services.content.v1.ListContentRequest': ListContentRequest;
  'containerd.services.content.v1.ListContentResponse': ListContentResponse;
  'containerd.services.content.v1.DeleteContentRequest': DeleteContentRequest;
  'containerd.services.content.v1.ReadContentRequest': ReadContentRequest;
  'containerd.services.content.v1.ReadContentResponse': ReadContentResponse;
  'containerd.services.content.v1.Status': ContentStatus;
  'containerd.services.content.v1.StatusRequest': ContentStatusRequest;
  'containerd.services.content.v1.StatusResponse': ContentStatusResponse;
  'containerd.services.content.v1.ListStatusesRequest': ListStatusesRequest;
  'containerd.services.content.v1.ListStatusesResponse': ListStatusesResponse;
  'containerd.services.content.v1.WriteContentRequest': WriteContentRequest;
  'containerd.services.content.v1.WriteContentResponse': WriteContentResponse;
  'containerd.services.content.v1.AbortRequest': AbortRequest;
  'containerd.services.diff.v1.ApplyRequest': ApplyRequest;
  'containerd.services.diff.v1.ApplyResponse': ApplyResponse;
  'containerd.services.diff.v1.DiffRequest': DiffRequest;
  'containerd.services.diff.v1.DiffResponse': DiffResponse;
  'containerd.services.events.v1.PublishRequest': PublishRequest;
  'containerd.services.events.v1.ForwardRequest': ForwardRequest;
  'containerd.services.events.v1.SubscribeRequest': SubscribeRequest;
  'containerd.services.events.v1.Envelope': Envelope;
  'containerd.services.introspection.v1.Plugin': Plugin;
  'containerd.services.introspection.v1.PluginsRequest': PluginsRequest;
  'containerd.services.introspection.v1.PluginsResponse': PluginsResponse;
  'containerd.services.introspection.v1.ServerResponse': ServerResponse;
  'containerd.services.leases.v1.Lease': Lease;
  'containerd.services.leases.v1.CreateRequest': CreateLeaseRequest;
  'containerd.services.leases.v1.CreateResponse': CreateLeaseResponse;
  'containerd.services.leases.v1.DeleteRequest': DeleteLeaseRequest;
  'containerd.services.leases.v1.ListRequest': ListLeasesRequest;
  'containerd.services.leases.v1.ListResponse': ListLeasesResponse;
  'containerd.services.leases.v1.Resource': LeaseResource;
  'containerd.services.leases.v1.AddResourceRequest': AddResourceRequest;
  'containerd.services.leases.v1.DeleteResourceRequest': DeleteResourceRequest;
  'containerd.services.leases.v1.ListResourcesRequest': ListResourcesRequest;
  'containerd.services.leases.v1.ListResourcesResponse': ListResourcesResponse;
  'containerd.services.namespaces.v1.Namespace': Namespace;
  'containerd.services.namespaces.v1.GetNamespaceRequest': GetNamespaceRequest;
  'containerd.services.namespaces.v1.GetNamespaceResponse': GetNamespaceResponse;
  'containerd.services.namespaces.v1.ListNamespacesRequest': ListNamespacesRequest;
  'containerd.services.namespaces.v1.ListNamespacesResponse': ListNamespacesResponse;
  'containerd.services.namespaces.v1.CreateNamespaceRequest': CreateNamespaceRequest;
  'containerd.services.namespaces.v1.CreateNamespaceResponse': CreateNamespaceResponse;
  'containerd.services.namespaces.v1.UpdateNamespaceRequest': UpdateNamespaceRequest;
  'containerd.services.namespaces.v1.UpdateNamespaceResponse': UpdateNamespaceResponse;
  'containerd.services.namespaces.v1.DeleteNamespaceRequest': DeleteNamespaceRequest;
  'containerd.services.snapshots.v1.PrepareSnapshotRequest': PrepareSnapshotRequest;
  'containerd.services.snapshots.v1.PrepareSnapshotResponse': PrepareSnapshotResponse;
  'containerd.services.snapshots.v1.ViewSnapshotRequest': ViewSnapshotRequest;
  'containerd.services.snapshots.v1.ViewSnapshotResponse': ViewSnapshotResponse;
  'containerd.services.snapshots.v1.MountsRequest': MountsRequest;
  'containerd.services.snapshots.v1.MountsResponse': MountsResponse;
  'containerd.services.snapshots.v1.RemoveSnapshotRequest': RemoveSnapshotRequest;
  'containerd.services.snapshots.v1.CommitSnapshotRequest': CommitSnapshotRequest;
  'containerd.services.snapshots.v1.StatSnapshotRequest': StatSnapshotRequest;
  'containerd.services.snapshots.v1.Info': SnapshotInfo;
  'containerd.services.snapshots.v1.StatSnapshotResponse': StatSnapshotResponse;
  'containerd.services.snapshots.v1.UpdateSnapshotRequest': UpdateSnapshotRequest;
  'containerd.services.snapshots.v1.UpdateSnapshotResponse': UpdateSnapshotResponse;
  'containerd.services.snapshots.v1.ListSnapshotsRequest': ListSnapshotsRequest;
  'containerd.services.snapshots.v1.ListSnapshotsResponse': ListSnapshotsResponse;
  'containerd.services.snapshots.v1.UsageRequest': UsageRequest;
  'containerd.services.snapshots.v1.UsageResponse': UsageResponse;
  'containerd.services.snapshots.v1.CleanupRequest': CleanupRequest;
  'containerd.services.tasks.v1.CreateTaskRequest': CreateTaskRequest;
  'containerd.services.tasks.v1.CreateTaskResponse': CreateTaskResponse;
  'containerd.services.tasks.v1.StartRequest': StartRequest;
  'containerd.services.tasks.v1.StartResponse': StartResponse;
  'containerd.services.tasks.v1.DeleteTaskRequest': DeleteTaskRequest;
  'containerd.services.tasks.v1.DeleteResponse': DeleteResponse;
  'containerd.services.tasks.v1.DeleteProcessRequest': DeleteProcessRequest;
  'containerd.services.tasks.v1.GetRequest': GetRequest;
  'containerd.services.tasks.v1.GetResponse': GetResponse;
  'containerd.services.tasks.v1.ListTasksRequest': ListTasksRequest;
  'containerd.services.tasks.v1.ListTasksResponse': ListTasksResponse;
  'containerd.services.tasks.v1.KillRequest': KillRequest;
  'containerd.services.tasks.v1.ExecProcessRequest': ExecProcessRequest;
  'containerd.services.tasks.v1.ExecProcessResponse': ExecProcessResponse;
  'containerd.services.tasks.v1.ResizePtyRequest': ResizePtyRequest;
  'containerd.services.tasks.v1.CloseIORequest': CloseIORequest;
  'containerd.services.tasks.v1.PauseTaskRequest': PauseTaskRequest;
  'containerd.services.tasks.v1.ResumeTaskRequest': ResumeTaskRequest;
  'containerd.services.tasks.v1.ListPidsRequest': ListPidsRequest;
  'containerd.services.tasks.v1.ListPidsResponse': ListPidsResponse;
  'containerd.services.tasks.v1.CheckpointTaskRequest': CheckpointTaskRequest;
  'containerd.services.tasks.v1.CheckpointTaskResponse': CheckpointTaskResponse;
  'containerd.services.tasks.v1.UpdateTaskRequest': UpdateTaskRequest;
  'containerd.services.tasks.v1.MetricsRequest': MetricsRequest;
  'containerd.services.tasks.v1.MetricsResponse': MetricsResponse;
  'containerd.services.tasks.v1.WaitRequest': WaitRequest;
  'containerd.services.tasks.v1.WaitResponse': WaitResponse;
  'containerd.services.version.v1.VersionResponse': VersionResponse;
  'containerd.types.Mount': Mount;
  'containerd.types.Descriptor': Descriptor;
  'containerd.types.Platform': Platform;
  'containerd.types.Metric': Metric;
  'containerd.v1.types.Process': Process;
  'containerd.v1.types.ProcessInfo': ProcessInfo;
  'containerd.linux.runc.RuncOptions': LinuxRuncOptions;
  'containerd.linux.runc.CreateOptions': LinuxRuncCreateOptions;
  'containerd.linux.runc.CheckpointOptions': LinuxRuncCheckpointOptions;
  'containerd.linux.runc.ProcessDetails': LinuxRuncProcessDetails;
  'containerd.runc.v1.Options': RuncV1Options;
  'containerd.runc.v1.CheckpointOptions': RuncV1CheckpointOptions;
  'containerd.runc.v1.ProcessDetails': RuncV1ProcessDetails;
  'google.rpc.Status': RpcStatus;
  'runtimeoptions.v1.Options': RuntimeOptionsV1Options;
  'io.containerd.cgroups.v1.Metrics': CgroupsV1Metrics;
  'io.containerd.cgroups.v1.HugetlbStat': CgroupsV1HugetlbStat;
  'io.containerd.cgroups.v1.PidsStat': CgroupsV1PidsStat;
  'io.containerd.cgroups.v1.CPUStat': CgroupsV1CPUStat;
  'io.containerd.cgroups.v1.CPUUsage': CgroupsV1CPUUsage;
  'io.containerd.cgroups.v1.Throttle': CgroupsV1Throttle;
  'io.containerd.cgroups.v1.MemoryStat': CgroupsV1MemoryStat;
  'io.containerd.cgroups.v1.MemoryEntry': CgroupsV1MemoryEntry;
  'io.containerd.cgroups.v1.MemoryOomControl': CgroupsV1MemoryOomControl;
  'io.containerd.cgroups.v1.BlkIOStat': CgroupsV1BlkIOStat;
  'io.containerd.cgroups.v1.BlkIOEntry': CgroupsV1BlkIOEntry;
  'io.containerd.cgroups.v1.RdmaStat': CgroupsV1RdmaStat;
  'io.containerd.cgroups.v1.RdmaEntry': CgroupsV1RdmaEntry;
  'io.containerd.cgroups.v1.NetworkStat': CgroupsV1NetworkStat;
  'io.containerd.cgroups.v1.CgroupStats': CgroupsV1CgroupStats;
  'io.containerd.cgroups.v2.Metrics': CgroupsV2Metrics;
  'io.containerd.cgroups.v2.PidsStat': CgroupsV2PidsStat;
  'io.containerd.cgroups.v2.CPUStat': CgroupsV2CPUStat;
  'io.containerd.cgroups.v2.MemoryStat': CgroupsV2MemoryStat;
  'io.containerd.cgroups.v2.MemoryEvents': CgroupsV2MemoryEvents;
  'io.containerd.cgroups.v2.RdmaStat': CgroupsV2RdmaStat;
  'io.containerd.cgroups.v2.RdmaEntry': CgroupsV2RdmaEntry;
  'io.containerd.cgroups.v2.IOStat': CgroupsV2IOStat;
  'io.containerd.cgroups.v2.IOEntry': CgroupsV2IOEntry;
  'io.containerd.cgroups.v2.HugeTlbStat': CgroupsV2HugeTlbStat;
  'google.protobuf.Any': Any;
  'google.protobuf.Timestamp': Timestamp;
  'google.protobuf.Duration': Duration;
  'google.protobuf.Empty': Empty;
  'google.protobuf.FieldMask': FieldMask;
}

export type MessageName = keyof MessageTypeMap;

/** Runtime list of the message full names described by MessageTypeMap (google.protobuf excluded). */
export const MESSAGE_TYPE_NAMES: readonly MessageName[] = [
  'containerd.types.Descriptor',
  'containerd.types.Mount',
  'containerd.types.Platform',
  'containerd.types.Metric',
  'containerd.v1.types.Process',
  'containerd.v1.types.ProcessInfo',
  'google.rpc.Status',
  'containerd.services.version.v1.VersionResponse',
  'containerd.services.namespaces.v1.Namespace',
  'containerd.services.namespaces.v1.GetNamespaceRequest',
  'containerd.services.namespaces.v1.GetNamespaceResponse',
  'containerd.services.namespaces.v1.ListNamespacesRequest',
  'containerd.services.namespaces.v1.ListNamespacesResponse',
  'containerd.services.namespaces.v1.CreateNamespaceRequest',
  'containerd.services.namespaces.v1.CreateNamespaceResponse',
  'containerd.services.namespaces.v1.UpdateNamespaceRequest',
  'containerd.services.namespaces.v1.UpdateNamespaceResponse',
  'containerd.services.namespaces.v1.DeleteNamespaceRequest',
  'containerd.services.introspection.v1.Plugin',
  'containerd.services.introspection.v1.PluginsRequest',
  'containerd.services.introspection.v1.PluginsResponse',
  'containerd.services.introspection.v1.ServerResponse',
  'containerd.services.containers.v1.Container',
  'containerd.services.containers.v1.Container.Runtime',
  'containerd.services.containers.v1.GetContainerRequest',
  'containerd.services.containers.v1.GetContainerResponse',
  'containerd.services.containers.v1.ListContainersRequest',
  'containerd.services.containers.v1.ListContainersResponse',
  'containerd.services.containers.v1.CreateContainerRequest',
  'containerd.services.containers.v1.CreateContainerResponse',
  'containerd.services.containers.v1.UpdateContainerRequest',
  'containerd.services.containers.v1.UpdateContainerResponse',
  'containerd.services.containers.v1.DeleteContainerRequest',
  'containerd.services.containers.v1.ListContainerMessage',
  'containerd.services.images.v1.Image',
  'containerd.services.images.v1.GetImageRequest',
  'containerd_ts.services.images.v1.ResolveImageRequest',
  'containerd_ts.services.images.v1.ResolveImageResponse',
  'containerd.services.images.v1.GetImageResponse',
  'containerd.services.images.v1.CreateImageRequest',
  'containerd.services.images.v1.CreateImageResponse',
  'containerd.services.images.v1.UpdateImageRequest',
  'containerd.services.images.v1.UpdateImageResponse',
  'containerd.services.images.v1.ListImagesRequest',
  'containerd.services.images.v1.ListImagesResponse',
  'containerd.services.images.v1.DeleteImageRequest',
  'containerd.services.tasks.v1.CreateTaskRequest',
  'containerd.services.tasks.v1.CreateTaskResponse',
  'containerd.services.tasks.v1.StartRequest',
  'containerd.services.tasks.v1.StartResponse',
  'containerd.services.tasks.v1.DeleteTaskRequest',
  'containerd.services.tasks.v1.DeleteResponse',
  'containerd.services.tasks.v1.DeleteProcessRequest',
  'containerd.services.tasks.v1.GetRequest',
  'containerd.services.tasks.v1.GetResponse',
  'containerd.services.tasks.v1.ListTasksRequest',
  'containerd.services.tasks.v1.ListTasksResponse',
  'containerd.services.tasks.v1.KillRequest',
  'containerd.services.tasks.v1.ExecProcessRequest',
  'containerd.services.tasks.v1.ExecProcessResponse',
  'containerd.services.tasks.v1.ResizePtyRequest',
  'containerd.services.tasks.v1.CloseIORequest',
  'containerd.services.tasks.v1.PauseTaskRequest',
  'containerd.services.tasks.v1.ResumeTaskRequest',
  'containerd.services.tasks.v1.ListPidsRequest',
  'containerd.services.tasks.v1.ListPidsResponse',
  'containerd.services.tasks.v1.CheckpointTaskRequest',
  'containerd.services.tasks.v1.CheckpointTaskResponse',
  'containerd.services.tasks.v1.UpdateTaskRequest',
  'containerd.services.tasks.v1.MetricsRequest',
  'containerd.services.tasks.v1.MetricsResponse',
  'containerd.services.tasks.v1.WaitRequest',
  'containerd.services.tasks.v1.WaitResponse',
  'containerd.services.events.v1.PublishRequest',
  'containerd.services.events.v1.ForwardRequest',
  'containerd.services.events.v1.SubscribeRequest',
  'containerd.services.events.v1.Envelope',
  'containerd.services.content.v1.Info',
  'containerd.services.content.v1.InfoRequest',
  'containerd.services.content.v1.InfoResponse',
  'containerd.services.content.v1.UpdateRequest',
  'containerd.services.content.v1.UpdateResponse',
  'containerd.services.content.v1.ListContentRequest',
  'containerd.services.content.v1.ListContentResponse',
  'containerd.services.content.v1.DeleteContentRequest',
  'containerd.services.content.v1.ReadContentRequest',
  'containerd.services.content.v1.ReadContentResponse',
  'containerd.services.content.v1.Status',
  'containerd.services.content.v1.StatusRequest',
  'containerd.services.content.v1.StatusResponse',
  'containerd.services.content.v1.ListStatusesRequest',
  'containerd.services.content.v1.ListStatusesResponse',
  'containerd.services.content.v1.WriteContentRequest',
  'containerd.services.content.v1.WriteContentResponse',
  'containerd.services.content.v1.AbortRequest',
  'containerd.services.snapshots.v1.PrepareSnapshotRequest',
  'containerd.services.snapshots.v1.PrepareSnapshotResponse',
  'containerd.services.snapshots.v1.ViewSnapshotRequest',
  'containerd.services.snapshots.v1.ViewSnapshotResponse',
  'containerd.services.snapshots.v1.MountsRequest',
  'containerd.services.snapshots.v1.MountsResponse',
  'containerd.services.snapshots.v1.RemoveSnapshotRequest',
  'containerd.services.snapshots.v1.CommitSnapshotRequest',
  'containerd.services.snapshots.v1.StatSnapshotRequest',
  'containerd.services.snapshots.v1.Info',
  'containerd.services.snapshots.v1.StatSnapshotResponse',
  'containerd.services.snapshots.v1.UpdateSnapshotRequest',
  'containerd.services.snapshots.v1.UpdateSnapshotResponse',
  'containerd.services.snapshots.v1.ListSnapshotsRequest',
  'containerd.services.snapshots.v1.ListSnapshotsResponse',
  'containerd.services.snapshots.v1.UsageRequest',
  'containerd.services.snapshots.v1.UsageResponse',
  'containerd.services.snapshots.v1.CleanupRequest',
  'containerd.services.diff.v1.ApplyRequest',
  'containerd.services.diff.v1.ApplyResponse',
  'containerd.services.diff.v1.DiffRequest',
  'containerd.services.diff.v1.DiffResponse',
  'containerd.services.leases.v1.Lease',
  'containerd.services.leases.v1.CreateRequest',
  'containerd.services.leases.v1.CreateResponse',
  'containerd.services.leases.v1.DeleteRequest',
  'containerd.services.leases.v1.ListRequest',
  'containerd.services.leases.v1.ListResponse',
  'containerd.services.leases.v1.Resource',
  'containerd.services.leases.v1.AddResourceRequest',
  'containerd.services.leases.v1.DeleteResourceRequest',
  'containerd.services.leases.v1.ListResourcesRequest',
  'containerd.services.leases.v1.ListResourcesResponse',
  'containerd.events.ContainerCreate',
  'containerd.events.ContainerCreate.Runtime',
  'containerd.events.ContainerUpdate',
  'containerd.events.ContainerDelete',
  'containerd.events.ContentDelete',
  'containerd.services.images.v1.ImageCreate',
  'containerd.services.images.v1.ImageUpdate',
  'containerd.services.images.v1.ImageDelete',
  'containerd.events.NamespaceCreate',
  'containerd.events.NamespaceUpdate',
  'containerd.events.NamespaceDelete',
  'containerd.events.SnapshotPrepare',
  'containerd.events.SnapshotCommit',
  'containerd.events.SnapshotRemove',
  'containerd.events.TaskCreate',
  'containerd.events.TaskStart',
  'containerd.events.TaskDelete',
  'containerd.events.TaskIO',
  'containerd.events.TaskExit',
  'containerd.events.TaskOOM',
  'containerd.events.TaskExecAdded',
  'containerd.events.TaskExecStarted',
  'containerd.events.TaskPaused',
  'containerd.events.TaskResumed',
  'containerd.events.TaskCheckpointed',
  'containerd.runc.v1.Options',
  'containerd.runc.v1.CheckpointOptions',
  'containerd.runc.v1.ProcessDetails',
  'containerd.linux.runc.RuncOptions',
  'containerd.linux.runc.CreateOptions',
  'containerd.linux.runc.CheckpointOptions',
  'containerd.linux.runc.ProcessDetails',
  'runtimeoptions.v1.Options',
  'io.containerd.cgroups.v1.Metrics',
  'io.containerd.cgroups.v1.HugetlbStat',
  'io.containerd.cgroups.v1.PidsStat',
  'io.containerd.cgroups.v1.CPUStat',
  'io.containerd.cgroups.v1.CPUUsage',
  'io.containerd.cgroups.v1.Throttle',
  'io.containerd.cgroups.v1.MemoryStat',
  'io.containerd.cgroups.v1.MemoryEntry',
  'io.containerd.cgroups.v1.MemoryOomControl',
  'io.containerd.cgroups.v1.BlkIOStat',
  'io.containerd.cgroups.v1.BlkIOEntry',
  'io.containerd.cgroups.v1.RdmaStat',
  'io.containerd.cgroups.v1.RdmaEntry',
  'io.containerd.cgroups.v1.NetworkStat',
  'io.containerd.cgroups.v1.CgroupStats',
  'io.containerd.cgroups.v2.Metrics',
  'io.containerd.cgroups.v2.PidsStat',
  'io.containerd.cgroups.v2.CPUStat',
  'io.containerd.cgroups.v2.MemoryStat',
  'io.containerd.cgroups.v2.MemoryEvents',
  'io.containerd.cgroups.v2.RdmaStat',
  'io.containerd.cgroups.v2.RdmaEntry',
  'io.containerd.cgroups.v2.IOStat',
  'io.containerd.cgroups.v2.IOEntry',
  'io.containerd.cgroups.v2.HugeTlbStat',
];
