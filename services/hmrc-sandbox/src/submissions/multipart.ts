/**
 * A small multipart/form-data reader for the sandbox's stand-in of Upscan's S3 upload form:
 * the whole body is in memory (≤ 20 MB), parts are returned in order with their raw bytes.
 */
export interface FormPart {
  name: string;
  filename: string | undefined;
  contentType: string | undefined;
  data: Buffer;
}

export function boundaryOf(contentType: string | undefined): string | undefined {
  if (contentType === undefined || !/^multipart\/form-data\b/i.test(contentType)) return undefined;
  const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return match?.[1] ?? match?.[2];
}

/** Parts of `body`, or undefined when the body is not well-formed multipart. */
export function parseMultipart(body: Buffer, boundary: string): FormPart[] | undefined {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: FormPart[] = [];
  let position = body.indexOf(delimiter);
  if (position === -1) return undefined;
  for (;;) {
    position += delimiter.length;
    // "--" after a delimiter closes the body.
    if (body[position] === 0x2d && body[position + 1] === 0x2d) return parts;
    if (body[position] !== 0x0d || body[position + 1] !== 0x0a) return undefined;
    position += 2;
    const headerEnd = body.indexOf('\r\n\r\n', position);
    if (headerEnd === -1) return undefined;
    const headers = body.subarray(position, headerEnd).toString('utf8').split('\r\n');
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headerEnd + 4);
    if (next === -1) return undefined;
    let name: string | undefined;
    let filename: string | undefined;
    let contentType: string | undefined;
    for (const header of headers) {
      const [key, ...rest] = header.split(':');
      const value = rest.join(':').trim();
      if (key?.trim().toLowerCase() === 'content-disposition') {
        name = /\bname="([^"]*)"/i.exec(value)?.[1];
        filename = /\bfilename="([^"]*)"/i.exec(value)?.[1];
      } else if (key?.trim().toLowerCase() === 'content-type') {
        contentType = value;
      }
    }
    if (name === undefined) return undefined;
    parts.push({ name, filename, contentType, data: body.subarray(headerEnd + 4, next) });
    position = next + 2;
  }
}
