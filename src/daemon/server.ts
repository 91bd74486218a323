import { chmod, chown, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadContainerdApi } from '../proto.js';
import { imageImportServiceDefinition } from '../proto-ext.js';
import { imageResolveService } from './grpc/image-resolve-service.js';
import { imagePullServiceDefinition } from '../proto-ext.js';
import { imagePullService } from './grpc/pull-service.js';
import type { Daemon } from './daemon.js';
import { introspectionService, namespacesService, versionService } from './grpc/basic-services.js';
import { containersService } from './grpc/containers-service.js';
import { contentService } from './grpc/content-service.js';
import { diffService } from './grpc/diff-service.js';
import { imageImportService } from './grpc/import-service.js';
import { imagesService } from './grpc/images-service.js';
import { leasesService } from './grpc/leases-service.js';
import { eventsService } from './grpc/events-service.js';
import { snapshotsService } from './grpc/snapshots-service.js';
import { tasksService } from './grpc/tasks-service.js';

/**
 * The gRPC server on the unix socket: containerd's v1 services plus our
 * import extension. Mode 0660, owned by root (and `socket_group`).
 */
export async function startGrpcServer(daemon: Daemon): Promise<grpc.Server> {
  const { config } = daemon;
  const api = loadContainerdApi().services;
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 << 20, 'grpc.max_send_message_length': 64 << 20 });
  const add = (def: grpc.ServiceDefinition, impl: object) => server.addService(def, impl as grpc.UntypedServiceImplementation);
  add(api.version.service, versionService());
  add(api.namespaces.service, namespacesService(daemon.namespaces, daemon.events));
  add(api.introspection.service, introspectionService(daemon.uuid));
  add(api.containers.service, containersService(daemon.containers, daemon.namespaces, daemon.tasks, daemon.events, config.root, daemon.gc));
  add(api.images.service, imagesService(daemon.images, daemon.namespaces, daemon.events, daemon.gc));
  add(api.content.service, contentService(daemon.content, daemon.leases, daemon.gc, daemon.events));
  add(api.snapshots.service, snapshotsService(daemon.snapshotter, daemon.leases, daemon.gc));
  add(api.diff.service, diffService({ content: daemon.content, differ: (ns) => daemon.differFor(ns), leases: daemon.leases, gc: daemon.gc }));
  add(api.tasks.service, tasksService(daemon.tasks));
  add(api.leases.service, leasesService(daemon.leases, daemon.gc));
  add(api.events.service, eventsService(daemon.events));
  add(api.imageResolve.service, imageResolveService(daemon.images, daemon.content));
  add(imageImportServiceDefinition(), imageImportService(daemon));
  add(imagePullServiceDefinition(), imagePullService(daemon));

  await mkdir(path.dirname(config.address), { recursive: true, mode: 0o711 });
  await rm(config.address, { force: true });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix://${config.address}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
  );
  await chmod(config.address, 0o660);
  await chown(config.address, 0, config.socketGroup ?? 0);
  return server;
}

/** Stops accepting calls, lets running ones finish for a moment, then closes. */
export function stopGrpcServer(server: grpc.Server, graceMs = 5000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
