import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number): void;
  stop(): void;
}

/**
 * Progress towards a total known up front, which never changes while the bar runs: a bar on
 * an interactive stderr; on pipes and CI a line every 10% instead. A count past the total
 * (an estimate that fell short) shows as the total, never as a moving total.
 */
export function createProgress(label: string, total: number): Progress {
  const clamp = (done: number) => Math.min(done, total);
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {percentage}% {value}/{total} eta {eta_formatted}`,
        stream: process.stderr,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0);
    return {
      update: (done) => bar.update(clamp(done)),
      stop: () => bar.stop(),
    };
  }
  let lastDecile = -1;
  return {
    update(done) {
      const shown = clamp(done);
      const decile = total === 0 ? 10 : Math.floor((shown / total) * 10);
      if (decile > lastDecile) {
        lastDecile = decile;
        process.stderr.write(`${label}: ${shown}/${total} (${decile * 10}%)\n`);
      }
    },
    stop() {},
  };
}
