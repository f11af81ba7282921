/**
 * The position of the last event a record reflects: its time and id. Records of the registry are
 * last-writer-wins registers over this position, so a record is the same whatever order its
 * events are applied in: in log order by a rebuild, or in compare-and-set order by replicas that
 * published concurrently. `occurred_at` is RFC 3339 with microseconds in UTC, and event ids are
 * ULIDs: both sort as strings.
 */
export interface EventPosition {
  readonly occurred_at: string;
  readonly event_id: string;
}

/** Whether `event` comes after the position a record holds (`updated_at`, `last_event_id`). */
export function isAfter(
  event: EventPosition,
  record: { readonly updated_at: string; readonly last_event_id: string },
): boolean {
  if (event.occurred_at !== record.updated_at) return event.occurred_at > record.updated_at;
  return event.event_id > record.last_event_id;
}

/** Whether `event` comes before the position a record holds. */
export function isBefore(
  event: EventPosition,
  record: { readonly updated_at: string; readonly last_event_id: string },
): boolean {
  if (event.occurred_at !== record.updated_at) return event.occurred_at < record.updated_at;
  return event.event_id < record.last_event_id;
}
