import { Command } from 'commander';
import { printJson, printTable } from '../output.js';
import {
  callIdentityAdmin,
  checkId,
  type AdminOptions,
  withAdminOptions,
} from './admin-options.js';

/** `warden humans …`: human principals (admins, approvers) of the identity broker. */
export function humansCommand(): Command {
  const humans = new Command('humans').description(
    'register humans (admins, approvers) and list them (needs an admin login)',
  );

  withAdminOptions(humans.command('register'))
    .description('register a human; prints their secret once')
    .argument('<human_id>', 'the new human id (a-z, 0-9, "_", "-")')
    .option('--role <role...>', 'a role or group, e.g. admin, support-leads (repeatable)', [])
    .addHelpText(
      'after',
      '\nExamples:\n  warden humans register alice --role support-leads\n  warden humans register bob --role admin --env prod',
    )
    .action(async (humanId: string, options: AdminOptions & { role: string[] }) => {
      checkId('human', humanId);
      for (const role of options.role) checkId('role', role);
      const result = await callIdentityAdmin(options, 'human-register', {
        human_id: humanId,
        roles: options.role,
      });
      if (options.json) {
        printJson(result);
        return;
      }
      printTable(
        ['human_id', 'roles', 'status', 'registered_at'],
        [{ ...result.human, roles: result.human.roles.join(', ') }],
      );
      process.stdout.write(
        [
          '',
          `Secret of ${humanId}: ${result.secret}`,
          `Store it now and hand it over safely: it is shown this once. They log in with \`warden login --user ${humanId}\`.`,
          '',
        ].join('\n'),
      );
    });

  withAdminOptions(humans.command('list'))
    .description('list the humans of the environment')
    .addHelpText('after', '\nExample:\n  warden humans list --json')
    .action(async (options: AdminOptions) => {
      const { humans: list } = await callIdentityAdmin(options, 'human-list', {});
      if (options.json) printJson(list);
      else {
        printTable(
          ['human_id', 'roles', 'status', 'registered_at', 'updated_at'],
          list.map((human) => ({ ...human, roles: human.roles.join(', ') })),
        );
      }
    });
  return humans;
}
