import { randomBytes } from 'node:crypto';

/**
 * multipart/form-data for the large-message upload (reference §3.4): one part per `fields`
 * entry, in the order HMRC gave them, then the file last (Upscan/S3 ignore anything after it),
 * named `file` with `Content-Type: application/xml`. Built by hand because the order and the
 * part headers are the contract, and a generic form encoder decides both for us.
 */
export interface MultipartBody {
  contentType: string;
  body: Buffer;
}

export function buildUploadForm(
  fields: Readonly<Record<string, string>>,
  file: Buffer,
  fileName = 'message.xml',
): MultipartBody {
  const boundary = `----ctc-hub-${randomBytes(16).toString('hex')}`;
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) {
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${quote(name)}"\r\n\r\n${value}\r\n`,
        'utf8',
      ),
    );
  }
  parts.push(
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${quote(fileName)}"\r\n` +
        'Content-Type: application/xml\r\n\r\n',
      'utf8',
    ),
    file,
    Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8'),
  );
  return { contentType: `multipart/form-data; boundary=${boundary}`, body: Buffer.concat(parts) };
}

// Field names come from HMRC; quotes and line breaks would break the part header, so escape them
// the way browsers do (WHATWG: %22, %0D, %0A).
const quote = (text: string) =>
  text.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
