/** IANA-registered MIKEY port (UDP and TCP). */
export const MIKEY_UDP_PORT = 2269;
