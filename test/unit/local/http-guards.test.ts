import { describe, expect, it } from 'vitest';
import {
  clientErrorAnswer,
  hostRefusal,
  rawErrorResponse,
} from '../../../lib/local/http-guards.ts';
import { parseRawResponse } from '../../helpers/raw-http.ts';

const codeError = (code: string) => Object.assign(new Error(code), { code });

describe('hostRefusal (DNS-rebinding guard)', () => {
  it.each([
    'localhost',
    'localhost:8080',
    'LOCALHOST:1',
    'localhost.',
    '127.0.0.1',
    '127.0.0.1:8080',
    '127.255.3.4:9',
    '[::1]',
    '[::1]:8080',
  ])('serves the loopback name %s', (host) => {
    expect(hostRefusal(host, '127.0.0.1')).toBeUndefined();
  });

  it.each([
    'attacker.example',
    'attacker.example:8080',
    'localhost.attacker.example',
    '127.0.0.1.nip.io',
    '128.0.0.1',
    '10.0.0.5',
    '[::2]',
    'localhost:8080:1',
    'localhost:port',
    '127.0.0.1 :80',
  ])('refuses %s with 421', (host) => {
    expect(hostRefusal(host, '127.0.0.1')).toMatchObject({
      status: 421,
      code: 'HOST_NOT_ALLOWED',
    });
  });

  it('refuses a missing Host with 400', () => {
    expect(hostRefusal(undefined, '127.0.0.1')).toMatchObject({ status: 400 });
    expect(hostRefusal('  ', '127.0.0.1')).toMatchObject({ status: 400 });
  });

  it('serves the bound address itself, and any IP literal when bound to all addresses, never a name', () => {
    expect(hostRefusal('192.168.1.5:8080', '192.168.1.5')).toBeUndefined();
    expect(hostRefusal('192.168.1.6:8080', '192.168.1.5')).toMatchObject({ status: 421 });
    expect(hostRefusal('192.168.1.6:8080', '0.0.0.0')).toBeUndefined();
    expect(hostRefusal('[fe80::1]:8080', '::')).toBeUndefined();
    expect(hostRefusal('my-laptop.local:8080', '0.0.0.0')).toMatchObject({ status: 421 });
  });
});

describe('clientErrorAnswer', () => {
  it.each([
    ['HPE_HEADER_OVERFLOW', 431],
    ['ERR_HTTP_REQUEST_TIMEOUT', 408],
    ['HPE_INVALID_METHOD', 400],
    ['HPE_INVALID_CONSTANT', 400],
    ['HPE_CHUNK_EXTENSIONS_OVERFLOW', 413],
  ])('answers %s with %i', (code, status) => {
    expect(clientErrorAnswer(codeError(code))?.status).toBe(status);
  });

  it('answers nothing when the peer is gone', () => {
    expect(clientErrorAnswer(codeError('ECONNRESET'))).toBeUndefined();
    expect(clientErrorAnswer(codeError('EPIPE'))).toBeUndefined();
  });

  it('writes a complete closing HTTP response with the JSON error shape', () => {
    const answer = clientErrorAnswer(codeError('HPE_HEADER_OVERFLOW'));
    if (!answer) throw new Error('no answer');
    const response = parseRawResponse(Buffer.from(rawErrorResponse(answer)));
    expect(response?.status).toBe(431);
    expect(response?.headers.connection).toBe('close');
    expect(JSON.parse(response?.body ?? '{}').error).toEqual({
      code: 'HEADERS_TOO_LARGE',
      message: expect.stringContaining('limit'),
      details: { limit: expect.any(Number) },
    });
  });
});
