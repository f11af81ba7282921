import { Command } from 'commander';
import { afterEach, beforeEach, vi } from 'vitest';

/**
 * `warden` with the given commands, as main.ts registers them, to run in-process: Commander's
 * exits become exceptions and its error output is swallowed (help still goes to stdout).
 */
export function inProcessWarden(...commands: Command[]): Command {
  const program = new Command('warden');
  for (const command of commands) program.addCommand(command);
  const quiet = (command: Command): void => {
    command.exitOverride().configureOutput({ writeErr: () => undefined });
    command.commands.forEach(quiet);
  };
  quiet(program);
  return program;
}

/** What the code under test wrote to stdout during the current test. */
export interface CapturedStdout {
  readonly text: string;
  /** Forgets what was written so far, to check the output of the next command alone. */
  clear(): void;
}

/**
 * Captures stdout in each test of the calling file or `describe` block (it registers the
 * beforeEach/afterEach hooks itself), starting empty for each test.
 */
export function captureStdoutInEachTest(): CapturedStdout {
  let text = '';
  let restore: (() => void) | undefined;
  beforeEach(() => {
    text = '';
    const write = vi
      .spyOn(process.stdout, 'write')
      .mockImplementation((chunk: string | Uint8Array) => {
        text += chunk.toString();
        return true;
      });
    restore = () => {
      write.mockRestore();
    };
  });
  afterEach(() => {
    restore?.();
    restore = undefined;
  });
  return {
    get text() {
      return text;
    },
    clear() {
      text = '';
    },
  };
}
