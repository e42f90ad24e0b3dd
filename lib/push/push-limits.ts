/** What one push request may carry (docs/adr/0015-push.md). */
export interface PushLimits {
  /** Rows per request; more answer 413 TOO_MANY_ROWS. */
  readonly maxRows: number;
  /** Bytes of the request body; more answer 413 BODY_TOO_LARGE. */
  readonly maxBodyBytes: number;
  /** How far after the server's clock an event time may be (clock skew); later ones are refused. */
  readonly maxFutureSkewSeconds: number;
}

export const defaultPushLimits: PushLimits = {
  maxRows: 1_000,
  maxBodyBytes: 262_144,
  maxFutureSkewSeconds: 300,
};
