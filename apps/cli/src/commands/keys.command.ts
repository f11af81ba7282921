import { Command } from 'commander';
import { printJson, printTable } from '../output.js';
import { callIdentityAdmin, type AdminOptions, withAdminOptions } from './admin-options.js';

/** `warden keys …`: the identity broker's token signing keys. */
export function keysCommand(): Command {
  const keys = new Command('keys').description(
    "the identity broker's signing keys: list them, rotate to a new one",
  );

  withAdminOptions(keys.command('list'))
    .description('list the signing keys in the JWKS (active and previous)')
    .addHelpText('after', '\nExample:\n  warden keys list')
    .action(async (options: AdminOptions) => {
      const { keys: list } = await callIdentityAdmin(options, 'key-list', {});
      if (options.json) printJson(list);
      else printTable(['kid', 'status', 'created_at', 'retires_at'], list);
    });

  withAdminOptions(keys.command('rotate'))
    .description(
      'sign new tokens with a new key; the previous one verifies until its tokens expire',
    )
    .option('--reason <text>', 'why, for the audit log')
    .addHelpText(
      'after',
      '\nExample:\n  warden keys rotate --reason "scheduled quarterly rotation"',
    )
    .action(async (options: AdminOptions & { reason?: string }) => {
      const result = await callIdentityAdmin(
        options,
        'key-rotate',
        options.reason === undefined ? {} : { reason: options.reason },
      );
      if (options.json) printJson(result);
      else {
        process.stdout.write(
          `now signing with ${result.kid}${
            result.previous_kid === undefined
              ? ''
              : `; ${result.previous_kid} verifies until ${result.previous_retires_at ?? 'its tokens expire'}`
          }\n`,
        );
      }
    });
  return keys;
}
