import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

/** A progress bar on an interactive stderr; on pipes and CI a line every 10% instead. */
export function createProgress(label: string): Progress {
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {percentage}% {value}/{total} eta {eta_formatted}`,
        stream: process.stderr,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(done, total) {
        if (!started) {
          bar.start(total, 0);
          started = true;
        }
        bar.update(done);
      },
      stop() {
        if (started) bar.stop();
      },
    };
  }
  let lastDecile = -1;
  return {
    update(done, total) {
      const decile = Math.floor((done / total) * 10);
      if (decile > lastDecile) {
        lastDecile = decile;
        process.stderr.write(`${label}: ${done}/${total} (${decile * 10}%)\n`);
      }
    },
    stop() {},
  };
}
