import { randomUUID } from 'node:crypto';
import { hex16 } from '@ctc-hub/testing';
import { envelope } from './receiver.js';
import type { ReceiverCase } from './types.js';

/**
 * SSRF and traversal messageUris in correctly signed notifications without an inline body, so a
 * naive worker would fetch them. The receiver may accept them (the envelope is valid; PPNS must
 * not retry), but the worker must quarantine each without making any request anywhere.
 * `{canary}` is a local server that counts connections, standing in for an internal target.
 */
export function messageUriCases(canary: string): ReceiverCase[] {
  const canaryHost = new URL(canary).host;
  const uris: [string, string | number | null][] = [
    [
      'an absolute URL to an internal host',
      `${canary}/customs/transits/movements/departures/{id}/messages/{mid}`,
    ],
    [
      'an https URL to another host',
      'https://evil.example.com/customs/transits/movements/departures/{id}/messages/{mid}',
    ],
    [
      'a scheme-relative //host',
      `//${canaryHost}/customs/transits/movements/departures/{id}/messages/{mid}`,
    ],
    ['a file: URL', 'file:///etc/passwd'],
    [
      'encoded ../ in the message id',
      '/customs/transits/movements/departures/{id}/messages/%2e%2e%2f%2e%2e%2fadmin',
    ],
    ['half-encoded ..%2f', '/customs/transits/movements/departures/{id}/messages/..%2f..%2fadmin'],
    [
      'double-encoded %252e%252e',
      '/customs/transits/movements/departures/{id}/messages/%252e%252e%252fadmin',
    ],
    [
      'plain ../ traversal',
      '/customs/transits/movements/departures/{id}/../../../../admin/messages/{mid}',
    ],
    [
      'link-local metadata address (AWS IMDS)',
      'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
    ],
    ['metadata host name (GCP)', 'http://metadata.google.internal/computeMetadata/v1/instance/'],
    ['IPv6 metadata address (AWS)', 'http://[fd00:ec2::254]/latest/meta-data/'],
    ['IPv4-mapped IPv6 link-local', 'http://[::ffff:169.254.169.254]/latest/meta-data/'],
    ['IPv6 loopback', 'http://[::1]/customs/transits/movements/departures/{id}/messages/{mid}'],
    ['a decimal IP (169.254.169.254)', 'http://2852039166/latest/meta-data/'],
    [
      'userinfo @ host inside the path',
      '/customs/transits/movements/departures/{id}@169.254.169.254/messages/{mid}',
    ],
    [
      'backslashes',
      '\\\\169.254.169.254\\customs\\transits\\movements\\departures\\{id}\\messages\\{mid}',
    ],
    [
      'a query string with a URL',
      '/customs/transits/movements/departures/{id}/messages/{mid}?next=http://169.254.169.254/',
    ],
    ['a NUL byte', '/customs/transits/movements/departures/{id}/messages/{mid}%00'],
    ['a number instead of a string', 42],
  ];
  return uris.map(([label, template]) => {
    const movementId = hex16();
    const messageId = hex16();
    const messageUri =
      typeof template === 'string'
        ? template.replaceAll('{id}', movementId).replaceAll('{mid}', messageId)
        : template;
    const notificationId = randomUUID();
    const payload = {
      messageUri,
      notificationType: 'MESSAGE_RECEIVED',
      messageId,
      enrollmentEORINumber: 'GB123456789000',
      departureId: movementId,
      messageType: 'IE029',
    };
    return {
      name: `messageUri: ${label}`,
      category: 'SSRF and traversal messageUri',
      body: envelope({ notificationId, message: JSON.stringify(payload) }),
      expected: { status: 200 },
      accepted: {
        notificationId,
        outcome: { status: 'quarantined', errorCode: 'UNSAFE_MESSAGE_URI' },
      },
    };
  });
}
