import { formatMicros } from '../epoch-micros.ts';

/**
 * Epoch microseconds as a push log name's stamp, `YYYYMMDDTHHMMSS.ffffff` (UTC): one width, so
 * text order is time order (push-log.ts names logs with it, staged-push-key.ts keys staged pushes).
 */
export function pushStamp(micros: bigint): string {
  return formatMicros(micros).replace(/[-:]/g, '').replace(/Z$/, '');
}
