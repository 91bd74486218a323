import { EventEmitter } from 'node:events';
import { packAny, toTimestamp } from '../../proto.js';
import type { Any, Timestamp } from '../../proto-types.js';
import { compileFilters } from './filters.js';

/** One published event, as containerd's Envelope carries it. */
export interface EventEnvelope {
  timestamp: Timestamp;
  namespace: string;
  topic: string;
  event: Any;
}

/** The event types the daemon publishes, by containerd's topic. */
export const Topics = {
  taskCreate: ['/tasks/create', 'containerd.events.TaskCreate'],
  taskStart: ['/tasks/start', 'containerd.events.TaskStart'],
  taskExit: ['/tasks/exit', 'containerd.events.TaskExit'],
  taskOOM: ['/tasks/oom', 'containerd.events.TaskOOM'],
  taskDelete: ['/tasks/delete', 'containerd.events.TaskDelete'],
  taskPaused: ['/tasks/paused', 'containerd.events.TaskPaused'],
  taskExecAdded: ['/tasks/exec-added', 'containerd.events.TaskExecAdded'],
  taskExecStarted: ['/tasks/exec-started', 'containerd.events.TaskExecStarted'],
  taskResumed: ['/tasks/resumed', 'containerd.events.TaskResumed'],
  containerCreate: ['/containers/create', 'containerd.events.ContainerCreate'],
  containerUpdate: ['/containers/update', 'containerd.events.ContainerUpdate'],
  containerDelete: ['/containers/delete', 'containerd.events.ContainerDelete'],
  imageCreate: ['/images/create', 'containerd.services.images.v1.ImageCreate'],
  imageUpdate: ['/images/update', 'containerd.services.images.v1.ImageUpdate'],
  imageDelete: ['/images/delete', 'containerd.services.images.v1.ImageDelete'],
  contentDelete: ['/content/delete', 'containerd.events.ContentDelete'],
  snapshotPrepare: ['/snapshot/prepare', 'containerd.events.SnapshotPrepare'],
  snapshotCommit: ['/snapshot/commit', 'containerd.events.SnapshotCommit'],
  snapshotRemove: ['/snapshot/remove', 'containerd.events.SnapshotRemove'],
  namespaceCreate: ['/namespaces/create', 'containerd.events.NamespaceCreate'],
  namespaceDelete: ['/namespaces/delete', 'containerd.events.NamespaceDelete'],
} as const;
export type Topic = keyof typeof Topics;

/**
 * The daemon's event exchange (containerd's events.Exchange): publishers
 * hand in typed events, subscribers get envelopes that pass their filters.
 * Nothing is stored: a subscriber sees what happens while it listens.
 */
export class EventExchange {
  private readonly emitter = new EventEmitter<{ event: [EventEnvelope] }>();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  publish(namespace: string, topic: Topic, event: object): void {
    const [path, type] = Topics[topic];
    this.forward({ timestamp: toTimestamp(), namespace, topic: path, event: packAny(type, event as never) });
  }

  /** Publishes an envelope made elsewhere (Events.Publish/Forward from clients). */
  forward(envelope: EventEnvelope): void {
    this.emitter.emit('event', envelope);
  }

  /** Calls `listener` for each matching event until the returned function is called. */
  subscribe(filters: string[], listener: (e: EventEnvelope) => void): () => void {
    const matches = compileFilters(filters);
    const handler = (e: EventEnvelope) => {
      if (matches(e)) listener(e);
    };
    this.emitter.on('event', handler);
    return () => this.emitter.off('event', handler);
  }
}
