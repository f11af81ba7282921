/**
 * Whether `digits` passes the Luhn (mod 10) check that every payment card number carries.
 * Only ASCII digits are accepted: strip spaces and dashes first. Strings shorter than two digits
 * are refused, since a lone digit carries no check digit.
 */
export function luhnValid(digits: string): boolean {
  return digits.length >= 2 && luhnCheck(digits, false);
}

/**
 * The Luhn check over the digits of `text`, skipping spaces and dashes when `separators` is set.
 * Any other character fails it. Works on the text as found, so a candidate never has to be copied
 * into a digits-only string first.
 */
export function luhnCheck(text: string, separators: boolean): boolean {
  let sum = 0;
  let doubled = false;
  for (let i = text.length - 1; i >= 0; i--) {
    const code = text.charCodeAt(i);
    if (separators && (code === 32 || code === 45)) continue;
    const digit = code - 48;
    if (digit < 0 || digit > 9) return false;
    if (doubled) {
      const twice = digit * 2;
      sum += twice > 9 ? twice - 9 : twice;
    } else {
      sum += digit;
    }
    doubled = !doubled;
  }
  return sum % 10 === 0;
}
