/** The parts of an API Gateway HTTP API (payload 2.0) event the handlers read; the local server builds the same. */
export interface HttpApiEvent {
  readonly rawPath: string;
  readonly headers?: Readonly<Record<string, string | undefined>>;
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
  readonly requestContext: {
    readonly requestId?: string;
    readonly http: { readonly method: string };
  };
}
