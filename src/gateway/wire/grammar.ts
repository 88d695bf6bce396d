/**
 * The pieces of HTTP's grammar the gateway's readers share (RFC 9110 §5.6, RFC 9112 §5): one definition each.
 */

/** RFC 9110 §5.6.2: `token = 1*tchar`. Field names and methods are tokens. */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

const OWS_AROUND = /^[ \t]+|[ \t]+$/g;

/** A field value without the optional whitespace around it (RFC 9112 §5: OWS is not part of the value). */
export function trimOws(value: string): string {
  return value.replace(OWS_AROUND, '');
}
