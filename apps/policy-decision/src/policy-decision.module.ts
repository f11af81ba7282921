import { Module } from '@nestjs/common';
import { DecideIntentHandler } from './handlers/decide-intent.handler.js';

/** Policy decision: is this action, by this agent, with these args, permitted? (DESIGN §2 step 3) */
@Module({ controllers: [DecideIntentHandler] })
export class PolicyDecisionModule {}
