import { Controller, Inject } from '@nestjs/common';
import type { Envelope } from '@warden/contracts';
import { OnEvent, type EventContext, type Outcome } from '@warden/messaging';
import { ExecuteTool } from '../use-cases/execute-tool.use-case.js';

/**
 * `budget.reserved` → `tool.started` → `intent.resolved{executed | failed | in_doubt, stage:
 * executor}` (DESIGN §2 step 5). The execution-record protocol lives in {@link ExecuteTool}.
 *
 * A long tool (`sleep`) is not redelivered while it runs: the consumer tells JetStream the message
 * is in progress (`working()`) every half AckWait.
 */
@Controller()
export class ExecuteToolHandler {
  constructor(@Inject(ExecuteTool) private readonly executeTool: ExecuteTool) {}

  @OnEvent('budget.reserved')
  executeIntent(event: Envelope<'budget.reserved'>, ctx: EventContext): Promise<Outcome> {
    return this.executeTool.execute(event, ctx);
  }
}
