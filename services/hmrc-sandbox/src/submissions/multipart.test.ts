import { boundaryOf, parseMultipart } from './multipart.js';

describe('multipart reader', () => {
  it('reads what a browser-style FormData produces, in order, with binary-safe file bytes', async () => {
    const form = new FormData();
    form.append('key', 'upload-1');
    form.append('acl', 'private');
    const file = Buffer.concat([
      Buffer.from('<xml>\r\n--not-a-boundary\r\n'),
      Buffer.from([0, 255, 13, 10]),
    ]);
    form.append('file', new Blob([file], { type: 'application/xml' }), 'declaration.xml');
    const request = new Request('http://x/', { method: 'POST', body: form });
    const body = Buffer.from(await request.arrayBuffer());
    const boundary = boundaryOf(request.headers.get('content-type')!);
    const parts = parseMultipart(body, boundary!)!;
    expect(parts.map((part) => part.name)).toEqual(['key', 'acl', 'file']);
    expect(parts[0]!.data.toString()).toBe('upload-1');
    expect(parts[2]).toMatchObject({ filename: 'declaration.xml', contentType: 'application/xml' });
    expect(parts[2]!.data.equals(file)).toBe(true);
  });

  it('refuses bodies that are not multipart', () => {
    expect(boundaryOf('application/json')).toBeUndefined();
    expect(parseMultipart(Buffer.from('hello'), 'b')).toBeUndefined();
    expect(
      parseMultipart(
        Buffer.from('--b\r\nContent-Disposition: form-data; name="a"\r\n\r\nno end'),
        'b',
      ),
    ).toBeUndefined();
  });
});
