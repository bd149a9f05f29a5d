/** IANA-registered MIKEY port (UDP and TCP). */
export const MIKEY_UDP_PORT = 2269;

/** Media type of a MIKEY message in an HTTP body (transport variants B and C of the seeds). */
export const MIKEY_MEDIA_TYPE = 'application/mikey';

/** Whether a Content-Type header value names a MIKEY body (parameters and case ignored). */
export function isMikeyContentType(contentType: string | undefined): boolean {
  return contentType !== undefined && contentType.split(';')[0].trim().toLowerCase() === MIKEY_MEDIA_TYPE;
}
