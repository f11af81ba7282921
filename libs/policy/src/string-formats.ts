import { type StringFormat } from './arg-schema.js';

// Every expression below is linear: fixed-width parts, or repeated character classes separated by
// a character the class cannot contain.
const EMAIL_LOCAL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const EMAIL_DOMAIN =
  /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
const URI_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
// Controls and white space are never part of a URI (RFC 3986); `URL` would silently strip some.
// eslint-disable-next-line no-control-regex
const URI_FORBIDDEN = /[\u0000-\u0020\u007f-\u009f]/;

/** Whether `value` is written in `format`. Total: never throws. */
export function matchesFormat(value: string, format: StringFormat): boolean {
  switch (format) {
    case 'email':
      return isEmail(value);
    case 'uri':
      return isUri(value);
    case 'date':
      return isDate(value);
    case 'date-time':
      return isDateTime(value);
    case 'uuid':
      return UUID.test(value);
  }
}

/** An addr-spec with a dot-atom local part and a dotted host name (no quoted parts, no IP literals). */
function isEmail(value: string): boolean {
  if (value.length > 254) return false;
  const at = value.lastIndexOf('@');
  if (at < 1 || at > 64) return false;
  return EMAIL_LOCAL.test(value.slice(0, at)) && EMAIL_DOMAIN.test(value.slice(at + 1));
}

/** An absolute URI: a scheme, then anything WHATWG `URL` accepts. */
function isUri(value: string): boolean {
  if (value.length > 8192 || !URI_SCHEME.test(value) || URI_FORBIDDEN.test(value)) return false;
  return URL.canParse(value);
}

/** A full-date of RFC 3339: a real calendar day. */
function isDate(value: string): boolean {
  const match = DATE.exec(value);
  return match !== null && isCalendarDay(Number(match[1]), Number(match[2]), Number(match[3]));
}

/** A date-time of RFC 3339, with a mandatory offset (a local time names no instant). */
function isDateTime(value: string): boolean {
  const match = DATE_TIME.exec(value);
  if (match === null) return false;
  const [, year, month, day, hour, minute, second, offsetHour, offsetMinute] = match;
  if (!isCalendarDay(Number(year), Number(month), Number(day))) return false;
  // A leap second is only ever inserted in the last minute of an hour (…:59:60).
  const secondLimit = Number(minute) === 59 ? 60 : 59;
  if (Number(hour) > 23 || Number(minute) > 59 || Number(second) > secondLimit) return false;
  if (offsetHour !== undefined && (Number(offsetHour) > 23 || Number(offsetMinute) > 59))
    return false;
  return true;
}

function isCalendarDay(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
  return day <= days;
}
