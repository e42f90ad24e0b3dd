export declare const repoRoot: string;
export declare const bundleRoot: string;
export declare function buildCliBundle(): Promise<string>;
export declare function freshCliBundle(options?: {
  dir?: string;
  root?: string;
}): { dir: string; reason?: undefined } | { dir?: undefined; reason: string };
