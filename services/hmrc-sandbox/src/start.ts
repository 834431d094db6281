import { createLogger, initTelemetry, type Logger, listen } from '@ctc-hub/telemetry';
import type { SandboxConfig } from './config.js';
import { createSandboxApp } from './core/app.js';
import { createContext, createControls, type SandboxControls } from './core/controls.js';
import { settingsFromConfig } from './core/settings.js';
import { createUploadApp } from './submissions/upload.js';
import { createSchemaValidator } from './submissions/validation.js';

export interface SandboxOptions {
  logger?: Logger;
  /** Skip OpenTelemetry set-up (tests that start many sandboxes). Default false. */
  skipTelemetry?: boolean;
}

export interface SandboxHandle {
  port: number;
  /** Base URL on loopback, e.g. http://127.0.0.1:8090 (use it as HMRC_API_BASE_URL). */
  url: string;
  /**
   * Origin of the upload listener as the sandbox hands it out, e.g. http://localhost:8091: on
   * another host name than `url`, as HMRC's upload host is not its API host.
   */
  uploadUrl: string;
  controls: SandboxControls;
  stop: () => Promise<void>;
}

/** Starts the HMRC stand-in: OAuth, CTC Traders API, PPNS push/pull, Guarantee Balance. */
export async function startSandbox(
  config: SandboxConfig,
  options: SandboxOptions = {},
): Promise<SandboxHandle> {
  const logger =
    options.logger ?? createLogger({ service: 'hmrc-sandbox', level: config.LOG_LEVEL });
  const telemetry =
    options.skipTelemetry === true
      ? undefined
      : initTelemetry({
          serviceName: 'ctc-hub-hmrc-sandbox',
          otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
          sampleRatio: config.OTEL_TRACES_SAMPLER_ARG,
        });
  const validator = await createSchemaValidator(logger);
  const context = createContext(settingsFromConfig(config), logger, validator);
  const controls = createControls(context);
  const app = createSandboxApp(context, controls, telemetry);

  const { server, port } = await listen(app, config.SANDBOX_PORT, config.HTTP_HOST);
  const host =
    config.HTTP_HOST === '0.0.0.0' || config.HTTP_HOST === '::' ? '127.0.0.1' : config.HTTP_HOST;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const upload = await listen(
    createUploadApp(context.submissions, context.stats, logger),
    config.SANDBOX_UPLOAD_PORT ?? (config.SANDBOX_PORT === 0 ? 0 : config.SANDBOX_PORT + 1),
    config.HTTP_HOST,
  ).catch(async (error: unknown) => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw error;
  });
  // Another name for the same loopback interface: the hub must allow it as an upload host.
  const uploadHost = host === 'localhost' ? '127.0.0.1' : 'localhost';
  context.settings.uploadBaseUrl =
    config.SANDBOX_UPLOAD_BASE_URL ?? `http://${uploadHost}:${upload.port}`;
  logger.info(
    {
      port,
      uploadUrl: context.settings.uploadBaseUrl,
      schemaEngine: validator.engine,
      callbackUrl: context.settings.callbackUrl,
    },
    'hmrc sandbox listening',
  );

  let stopped = false;
  return {
    port,
    url,
    uploadUrl: context.settings.uploadBaseUrl,
    controls,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      context.simulator.stop();
      context.push.stop();
      for (const response of context.hanging) response.destroy();
      const closed = Promise.all(
        [server, upload.server].map(
          (listener) => new Promise<void>((resolve) => listener.close(() => resolve())),
        ),
      );
      server.closeAllConnections();
      upload.server.closeAllConnections();
      await closed;
      context.client.close();
      await validator.close();
    },
  };
}
