import { invalidArgument } from '../../errors.js';
import { toTimestamp } from '../../proto.js';
import type { EventsHandlers } from '../../proto-types.js';
import type { EventExchange } from '../events/exchange.js';
import { compileFilters } from '../events/filters.js';
import { namespaceOf, unary } from './handlers.js';
import { toServiceError } from './status.js';

/** Events: Subscribe streams envelopes until the client goes; Publish/Forward feed the exchange. */
export function eventsService(exchange: EventExchange): EventsHandlers {
  return {
    Publish: unary((req, call) => {
      if (!req.topic.startsWith('/')) throw invalidArgument(`event topic "${req.topic}" must start with /`);
      if (!req.event) throw invalidArgument('event is required');
      exchange.forward({ timestamp: toTimestamp(), namespace: namespaceOf(call), topic: req.topic, event: req.event });
      return {};
    }),
    Forward: unary((req) => {
      const e = req.envelope;
      if (!e?.event || !e.topic || !e.namespace) throw invalidArgument('envelope needs a namespace, a topic and an event');
      exchange.forward({ timestamp: e.timestamp ?? toTimestamp(), namespace: e.namespace, topic: e.topic, event: e.event });
      return {};
    }),
    Subscribe: (call) => {
      try {
        compileFilters(call.request.filters); // reject bad filters before streaming
      } catch (err) {
        call.emit('error', toServiceError(err)); // grpc-js sends the status on 'error'; destroy() would never send it
        return;
      }
      const stop = exchange.subscribe(call.request.filters, (e) => call.write(e));
      call.on('cancelled', stop);
      call.on('close', stop);
      call.on('error', stop);
    },
  };
}
