import { afterEach, describe, expect, it } from 'vitest';
import { InterruptedError, Shutdown, signalExitCodes } from '../../../lib/cli/shutdown.ts';

/** A Shutdown whose exits and messages are recorded instead of ending the test process. */
function recorded() {
  const exits: number[] = [];
  const messages: string[] = [];
  const shutdown = new Shutdown(
    (code) => exits.push(code),
    (text) => messages.push(text),
  ).install();
  installed.push(shutdown);
  return { shutdown, exits, messages };
}

const installed: Shutdown[] = [];
afterEach(() => {
  for (const shutdown of installed.splice(0)) shutdown.uninstall();
});

describe('Shutdown: SIGINT/SIGTERM handling of a CLI run', () => {
  it('maps SIGINT to exit code 130 and SIGTERM to 143', () => {
    expect(signalExitCodes).toEqual({ SIGINT: 130, SIGTERM: 143 });
    expect(new InterruptedError('SIGTERM', 'x').exitCode).toBe(143);
  });

  it('exits at once, after the synchronous cleanups, while no command has asked to wind down', () => {
    const { shutdown, exits } = recorded();
    const cleaned: string[] = [];
    shutdown.onExit(() => cleaned.push('partial file'));
    process.emit('SIGINT');
    expect(cleaned).toEqual(['partial file']);
    expect(exits).toEqual([130]);
  });

  it('turns the first signal after stopSignal() into an abort, not an exit', () => {
    const { shutdown, exits, messages } = recorded();
    const stop = shutdown.stopSignal();
    process.emit('SIGTERM');
    expect(stop.aborted).toBe(true);
    expect(stop.reason).toBeInstanceOf(InterruptedError);
    expect(exits).toEqual([]);
    expect(shutdown.signal).toBe('SIGTERM');
    expect(messages.join('')).toContain('again to exit at once');
    expect(shutdown.exitCodeFor(0)).toBe(143);
  });

  it('exits at once on a second signal, running the cleanups, with the code of the signal that ended it', () => {
    const { shutdown, exits, messages } = recorded();
    shutdown.stopSignal();
    const cleaned: number[] = [];
    const forget = shutdown.onExit(() => cleaned.push(1));
    shutdown.onExit(() => {
      throw new Error('a failing cleanup does not stop the exit');
    });
    process.emit('SIGTERM');
    expect(exits).toEqual([]);
    process.emit('SIGINT');
    expect(cleaned).toEqual([1]);
    expect(exits).toEqual([130]);
    expect(messages.join('')).toContain('exiting now');
    forget();
  });

  it('ends the process by the signal itself, not process.exit, on an immediate exit while a native query calls JS functions, and by process.exit again once it settled', async () => {
    const exits: number[] = [];
    const raised: string[] = [];
    const shutdown = new Shutdown(
      (code) => exits.push(code),
      () => {},
      (signal) => raised.push(signal),
    ).install();
    installed.push(shutdown);
    const cleaned: string[] = [];
    shutdown.onExit(() => cleaned.push('partial file'));
    let settle = () => {};
    const query = shutdown.duringNativeCallbacks(
      new Promise<void>((resolve) => {
        settle = resolve;
      }),
    );
    process.emit('SIGTERM');
    expect(raised).toEqual(['SIGTERM']);
    expect(cleaned).toEqual(['partial file']);
    settle();
    await query;
    process.emit('SIGINT');
    expect(raised).toEqual(['SIGTERM']);
    expect(exits.at(-1)).toBe(130);
  });

  it('keeps the command’s own exit code when no signal came, and 0 for a stop that is a server’s normal end', () => {
    const { shutdown } = recorded();
    shutdown.stopSignal();
    expect(shutdown.exitCodeFor(1)).toBe(1);
    shutdown.stopIsNormalEnd();
    process.emit('SIGINT');
    expect(shutdown.exitCodeFor(0)).toBe(0);
  });

  it('stops listening once uninstalled', () => {
    const { shutdown, exits } = recorded();
    const stop = shutdown.stopSignal();
    shutdown.uninstall();
    process.emit('SIGTERM');
    expect(stop.aborted).toBe(false);
    expect(exits).toEqual([]);
  });
});
