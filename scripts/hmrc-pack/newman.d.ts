/** The part of newman's API the pack runner uses (newman ships no type declarations). */
declare module 'newman' {
  import type { EventEmitter } from 'node:events';

  export interface NewmanRunOptions {
    collection: unknown;
    environment?: unknown;
    envVar?: { key: string; value: string }[];
    reporters?: string[];
    timeoutRequest?: number;
    timeoutScript?: number;
  }

  interface ItemRef {
    id?: string;
    name: string;
    parent: () => { name: string } | undefined;
  }

  export interface NewmanRunEvents extends EventEmitter {
    on(
      event: 'request',
      listener: (
        error: Error | null,
        args: {
          item: ItemRef;
          request: { method: string };
          response?: { code: number; stream: Buffer };
        },
      ) => void,
    ): this;
    on(
      event: 'script',
      listener: (
        error: Error | null,
        args: { item: ItemRef; event?: { listen?: string }; execution?: { error?: Error } },
      ) => void,
    ): this;
    on(
      event: 'assertion',
      listener: (error: Error | null, args: { item: ItemRef; assertion: string }) => void,
    ): this;
  }

  const newman: {
    run(options: NewmanRunOptions, callback: (error: Error | null) => void): NewmanRunEvents;
  };
  // eslint-disable-next-line no-restricted-syntax -- describes newman's own CommonJS export
  export default newman;
}
