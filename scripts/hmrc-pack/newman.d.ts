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

  interface HeaderList {
    get(name: string): string | undefined;
  }

  export interface NewmanRequest {
    method: string;
    url: { getPath(): string };
    headers: HeaderList;
  }

  export interface NewmanResponse {
    code: number;
    stream: Buffer;
    headers: HeaderList;
  }

  export interface NewmanRunEvents extends EventEmitter {
    on(
      event: 'request',
      listener: (
        error: Error | null,
        args: {
          item: ItemRef;
          request: NewmanRequest;
          response?: NewmanResponse;
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
