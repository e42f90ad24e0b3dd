import { execFileSync } from 'node:child_process';

const browserNames = ['chromium', 'chromium-browser', 'google-chrome'] as const;

export const browserInstallHint =
  'headless Chromium is not installed: apt-get install chromium (.ci/run installs it and sets FSTORE_REQUIRE_BROWSER=1)';

/** The first headless-capable browser on PATH, if any. */
export function findChromium(): string | undefined {
  return browserNames.find((name) => {
    try {
      execFileSync('which', [name], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * The browser a test needs, or a skip with the reason and install command. With
 * FSTORE_REQUIRE_BROWSER=1 (set by .ci/run) a missing browser fails the test instead.
 */
export function chromiumOrSkip(skip: (note: string) => never): string {
  const chromium = findChromium();
  if (chromium) return chromium;
  if (process.env.FSTORE_REQUIRE_BROWSER === '1')
    throw new Error(`${browserInstallHint}; FSTORE_REQUIRE_BROWSER=1 makes this a failure`);
  console.warn(`skipped: ${browserInstallHint}`);
  return skip(browserInstallHint);
}
