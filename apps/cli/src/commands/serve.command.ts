import { Command, InvalidArgumentError } from 'commander';
import { isServiceName, loadService, SERVICES, type ServiceName } from '../services.js';

/**
 * `warden serve <service>`: one service in the foreground, configured from the environment, as
 * `node dist/apps/<service>/main.js` would run it (how an SRE runs and scales one service).
 */
export function serveCommand(): Command {
  return new Command('serve')
    .description('run one service in the foreground, configured from its environment variables')
    .argument('<service>', `one of ${SERVICES.join(', ')}`, (name: string): ServiceName => {
      if (!isServiceName(name)) {
        throw new InvalidArgumentError(`choose one of ${SERVICES.join(', ')}`);
      }
      return name;
    })
    .addHelpText(
      'after',
      [
        '',
        'Every service reads WARDEN_ENV, NATS_URL, HTTP_PORT and LOG_LEVEL; a missing or invalid',
        'variable stops it with a message listing every problem. Two processes of one service',
        'share its durable consumers and split the load.',
        '',
        'Example:',
        '  WARDEN_ENV=dev HTTP_PORT=7412 npm run warden -- serve policy-decision',
      ].join('\n'),
    )
    .action(async (name: ServiceName) => {
      const service = await loadService(name);
      await service.main();
    });
}
