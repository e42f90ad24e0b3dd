import type { Command } from 'commander';

/**
 * The name of the command `args` (the arguments after the script) runs: the first operand
 * after `program`'s own options, or for `help <command>` that command. Undefined when there is
 * none (`fstore`, `fstore --version`). A global option's value is skipped as commander skips it
 * (`--defs list training-set` runs training-set).
 */
export function invokedCommandName(program: Command, args: readonly string[]): string | undefined {
  const takesValue = new Set(
    program.options
      .filter((option) => option.required || option.optional)
      .flatMap((option) => [option.long, option.short])
      .filter((flag): flag is string => flag !== undefined),
  );
  for (let at = 0; at < args.length; at++) {
    const arg = args[at] as string;
    // Commander still dispatches the first operand after `--` (`fstore -- list` runs list).
    if (arg === '--') return commandOfOperands(args.slice(at + 1));
    if (arg.startsWith('-')) {
      if (takesValue.has(arg)) at++;
      continue;
    }
    return commandOfOperands(args.slice(at));
  }
  return undefined;
}

function commandOfOperands(operands: readonly string[]): string | undefined {
  const [first, ...rest] = operands;
  return first === 'help' ? rest.find((next) => !next.startsWith('-')) : first;
}
