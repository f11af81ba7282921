import { HelpdeskConfigError, helpdeskOptions, parseHelpdeskConfig } from './config.js';
import { startHelpdesk } from './helpdesk.js';

// Errors at start go to stderr as one JSON line, like every other log line.
function fail(msg: string, fields: Record<string, unknown> = {}): never {
  process.stderr.write(
    `${JSON.stringify({ level: 'error', service: 'helpdesk', msg, ...fields })}\n`,
  );
  process.exit(1);
}

let options;
try {
  options = helpdeskOptions(parseHelpdeskConfig(process.env));
} catch (error) {
  if (error instanceof HelpdeskConfigError) fail(error.message, { problems: error.problems });
  throw error;
}

const helpdesk = await startHelpdesk(options).catch((error: unknown) =>
  fail('cannot start', { error: error instanceof Error ? error.message : String(error) }),
);

// SIGTERM (and Ctrl-C): stop accepting, finish what is in flight, exit 0.
let stopping = false;
const shutdown = () => {
  if (stopping) return;
  stopping = true;
  helpdesk.stop().then(
    () => process.exit(0),
    (error: unknown) => fail('shutdown failed', { error: String(error) }),
  );
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
// Started by `warden up` with an IPC channel: when warden up dies without stopping the helpdesk
// (a crash, SIGKILL), the channel closes, and the helpdesk stops rather than live on as an orphan.
if (process.channel !== undefined) {
  process.channel.unref();
  process.once('disconnect', shutdown);
}
