import { buildEvent, type Envelope, type Producer } from '@warden/contracts';
import { requestCause, type ApprovalRecord } from './approval-record.js';

const MESSAGE_MAX = 2048;

/**
 * The events that announce an approval's final status, in publish order: `approval.granted`;
 * `approval.denied` + `intent.resolved{denied, approval_denied}`; `approval.expired` +
 * `intent.resolved{denied, approval_expired}`. None for a pending one.
 *
 * Every id derives from the stored `approval.requested` event, so building them again (another
 * replica, the sweeper after a crash) gives the same ids and JetStream drops the copies. The
 * `intent.resolved` of a denial and of an expiry share one id on purpose: an intent is resolved
 * once, and if both were ever published the second would be dropped as a duplicate.
 */
export function outcomeEvents(record: ApprovalRecord, producer: Producer): Envelope[] {
  const cause = requestCause(record, producer);
  const { approval_id, tool, args, args_hash, step, group, policy_version, policy_ids } = record;
  switch (record.status) {
    case 'pending':
      return [];
    case 'granted':
    case 'denied': {
      const approver = record.answered_by ?? 'unknown';
      const comment = record.comment ?? '(no reason given)';
      const answered = buildEvent({
        type: record.status === 'granted' ? 'approval.granted' : 'approval.denied',
        cause,
        producer,
        data: {
          approval_id,
          tool,
          args,
          args_hash,
          step,
          group,
          approver,
          comment,
          policy_version,
          ...(record.cost_micro_usd === undefined ? {} : { cost_micro_usd: record.cost_micro_usd }),
        },
      });
      if (record.status === 'granted') return [answered];
      const resolved = buildEvent({
        type: 'intent.resolved',
        cause,
        producer,
        data: {
          status: 'denied',
          stage: 'approval',
          reason: 'approval_denied',
          tool,
          message: truncate(`${approver} denied the approval: ${comment}`),
          policy_ids,
        },
      });
      return [answered, resolved];
    }
    case 'expired':
      return [
        buildEvent({
          type: 'approval.expired',
          cause,
          producer,
          data: { approval_id, tool, args_hash, expires_at: record.expires_at },
        }),
        buildEvent({
          type: 'intent.resolved',
          cause,
          producer,
          data: {
            status: 'denied',
            stage: 'approval',
            reason: 'approval_expired',
            tool,
            message: `nobody of ${group} answered the approval before ${record.expires_at}`,
            policy_ids,
          },
        }),
      ];
  }
}

function truncate(text: string): string {
  return text.length <= MESSAGE_MAX ? text : `${text.slice(0, MESSAGE_MAX - 1)}…`;
}
